/* PTRACE_ATTACH to pid 1 of the sandbox (Forge's PID-1 reaper, which was forked from the
 * host-side launcher and may still hold its memory image). SAFE: attach refused. */
#include "probe.h"
#include <sys/ptrace.h>
static long attempt(void *a, struct res *r) {
  (void)a; (void)r;
  long ret = ptrace(PTRACE_ATTACH, 1, 0, 0);
  if (ret == 0) { int st; waitpid(1, &st, __WALL); ptrace(PTRACE_DETACH, 1, 0, 0); }
  return ret;
}
int main(void) {
  if (getpid() == 1) SAFE("the probe itself is pid 1 (no separate init to attack)");
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 && r.err == ESRCH) SAFE("pid 1 not visible (ESRCH)");
  expect_refused("ptrace(PTRACE_ATTACH, 1)", &r);
}
