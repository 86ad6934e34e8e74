/* /proc/keys lists keys (kernel keyrings are not namespaced). Docker masks it.
 * SAFE: unreadable or empty. */
#include "probe.h"
int main(void) {
  char b[4096];
  ssize_t n = read_file("/proc/keys", b, sizeof b);
  if (n < 0) SAFE("/proc/keys: %s", ename(errno));
  if (n == 0) SAFE("/proc/keys is empty (masked or no keys)");
  b[strcspn(b, "\n")] = 0;
  UNSAFE("/proc/keys readable: %.120s", b);
}
