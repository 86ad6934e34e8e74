/* Not a probe: tells the harness whether Landlock confines the payload, so that a
 * "--landlock off" run is known to have run without it (and the default run with it).
 * Forge applies Landlock in the payload after forge-init (the sandbox's PID 1) has
 * started, and scopes signals (Landlock ABI 6+): kill(1, 0) then fails with EPERM,
 * while without Landlock it succeeds (same ids in the user namespace).
 * Prints one line: "landlock-state abi=N kill1=ok|EPERM|...". */
#include "probe.h"
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
int main(void) {
  /* LANDLOCK_CREATE_RULESET_VERSION = 1: the ABI version, -1 when missing or denied. */
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL);
  int r = kill(1, 0);
  printf("landlock-state abi=%ld kill1=%s\n", abi < 0 ? -1L : abi, r == 0 ? "ok" : ename(errno));
  fflush(stdout);
  return 0;
}
