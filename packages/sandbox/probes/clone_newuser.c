/* Raw clone(CLONE_NEWUSER|SIGCHLD) (not through libc's unshare, so a filter on unshare
 * alone does not catch it). SAFE: refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) {
  (void)a; (void)r;
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("clone(CLONE_NEWUSER)", &r); }
