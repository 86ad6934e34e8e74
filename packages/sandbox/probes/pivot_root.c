/* pivot_root(2): the kernel checks the privilege (may_mount) before it looks at the paths,
 * so nonexistent paths tell "refused" (EPERM) from "allowed" (ENOENT) without changing
 * anything. SAFE: EPERM/ENOSYS or SIGSYS. */
#include "probe.h"
static long attempt(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_pivot_root, "/.forge-no-such-dir", "/.forge-no-such-dir"); }
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("pivot_root", &r); }
