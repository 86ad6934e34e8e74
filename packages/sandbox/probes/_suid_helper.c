/* Not a probe: installed setuid root by the harness. Prints its effective uid (from the
 * Uid line of /proc/self/status) and the uid it maps to in the parent user namespace
 * (-1: unmapped), then stays alive 300 ms so the harness can read its Uid line from the
 * host's /proc (the host view decides the verdict). */
#include "probe.h"
int main(void) {
  const char *u = status_field("Uid");
  unsigned long r = 0, e = 0;
  if (!u || sscanf(u, "%lu %lu", &r, &e) != 2) e = geteuid();
  printf("euid=%lu hosteuid=%lld\n", e, outside_id("/proc/self/uid_map", e));
  fflush(stdout);
  usleep(300000);
  return 0;
}
