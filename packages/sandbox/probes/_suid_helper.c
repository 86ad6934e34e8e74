/* Not a probe: installed setuid root by the harness. Prints its effective uid (from the
 * Uid line of /proc/self/status) and the host uid it maps to (-1: unmapped). */
#include "probe.h"
int main(void) {
  const char *u = status_field("Uid");
  unsigned long r = 0, e = 0;
  if (!u || sscanf(u, "%lu %lu", &r, &e) != 2) e = geteuid();
  printf("euid=%lu hosteuid=%lld\n", e, outside_id("/proc/self/uid_map", e));
  return 0;
}
