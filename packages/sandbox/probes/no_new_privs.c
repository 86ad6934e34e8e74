/* NoNewPrivs must be 1 so setuid/file caps cannot raise privileges. SAFE: NoNewPrivs 1. */
#include "probe.h"
int main(void) {
  const char *v = status_field("NoNewPrivs");
  if (!v) UNSAFE("no NoNewPrivs line in /proc/self/status");
  if (strcmp(v, "1") == 0) SAFE("NoNewPrivs: 1");
  UNSAFE("NoNewPrivs: %s", v);
}
