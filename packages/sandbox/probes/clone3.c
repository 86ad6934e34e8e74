/* clone3 takes its flags in memory, where seccomp cannot look, so a profile that filters
 * clone flags must make clone3 fail with ENOSYS (libc then falls back to clone) or EPERM.
 * Tried with flags = CLONE_NEWUSER and with flags = 0. SAFE: both fail ENOSYS/EPERM. */
#include "probe.h"
#include <linux/sched.h>
static long attempt(void *a, struct res *r) {
  (void)r;
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = *(unsigned long long *)a;
  ca.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}
int main(void) {
  unsigned long long f1 = CLONE_NEWUSER, f0 = 0;
  struct res a = guarded(attempt, &f1), b = guarded(attempt, &f0);
  int ok_a = a.sig == SIGSYS || (a.ret < 0 && (a.err == ENOSYS || a.err == EPERM));
  int ok_b = b.sig == SIGSYS || (b.ret < 0 && (b.err == ENOSYS || b.err == EPERM));
  char da[300];
  snprintf(da, sizeof da, "%s", describe(&a));
  if (ok_a && ok_b) SAFE("clone3(NEWUSER): %s; clone3(0): %s", da, describe(&b));
  UNSAFE("clone3(NEWUSER): %s; clone3(0): %s", da, describe(&b));
}
