/* mount tmpfs with the x32 number (165 | 0x40000000). SAFE: refused (ENOSYS when the
 * kernel has no x32 ABI). */
#include "compat.h"
static long attempt(void *a, struct res *r) {
  (void)a; (void)r;
  struct stat st;
  const char *t = stat("/tmp", &st) == 0 ? "/tmp" : "/";
  long ret = syscall(X32_BIT | 165, "forge-probe", t, "tmpfs", 0, 0);
  if (ret == 0) syscall(SYS_umount2, t, 2);
  return ret;
}
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("x32 mount(tmpfs)", &r); }
