/* userfaultfd stalls kernel copies at will, turning races into reliable exploits (Docker
 * denies it). Tried with flags 0 and UFFD_USER_MODE_ONLY. SAFE: both refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) { (void)r; return syscall(SYS_userfaultfd, O_CLOEXEC | *(int *)a); }
int main(void) {
  int f0 = 0, f1 = 1 /* UFFD_USER_MODE_ONLY */;
  struct res a = guarded(attempt, &f0), b = guarded(attempt, &f1);
  char da[300];
  snprintf(da, sizeof da, "%s", describe(&a));
  if (refused(&a) && refused(&b)) SAFE("userfaultfd(0): %s; userfaultfd(USER_MODE_ONLY): %s", da, describe(&b));
  UNSAFE("userfaultfd(0): %s; userfaultfd(USER_MODE_ONLY): %s", da, describe(&b));
}
