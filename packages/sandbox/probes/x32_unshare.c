/* unshare(CLONE_NEWUSER) with the x32 number (272 | 0x40000000). A filter that compares
 * numbers without masking the x32 bit, or that forgets to deny x32, lets it through.
 * SAFE: refused (ENOSYS also when the kernel has no x32 ABI). */
#include "compat.h"
static long attempt(void *a, struct res *r) { (void)a; (void)r; return syscall(X32_BIT | 272, CLONE_NEWUSER); }
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("x32 unshare(CLONE_NEWUSER)", &r); }
