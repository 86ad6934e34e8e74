/* unshare(CLONE_NEWUSER) through the i386 entry (int $0x80, nr 310). SAFE: refused
 * (EPERM/ENOSYS), killed by SIGSYS, or the i386 ABI is disabled (SIGSEGV). */
#include "compat.h"
static long attempt(void *a, struct res *r) { (void)a; (void)r; return int80(310, CLONE_NEWUSER, 0, 0, 0, 0); }
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.sig == SIGSEGV) SAFE("i386 ABI not available (SIGSEGV on int $0x80)");
  expect_refused("i386 unshare(CLONE_NEWUSER)", &r);
}
