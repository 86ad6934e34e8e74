/* Raw clone with CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWCGROUP (docker-default
 * denies namespace flags on clone without CAP_SYS_ADMIN). SAFE: refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) {
  (void)a; (void)r;
  long pid = syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("clone(NEWNS|NEWPID|NEWNET|NEWCGROUP)", &r); }
