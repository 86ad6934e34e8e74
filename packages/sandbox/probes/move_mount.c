/* move_mount(2) checks may_mount() before anything else: bad fds tell "refused" (EPERM)
 * from "allowed" (EBADF/ENOENT) without moving anything. SAFE: EPERM/ENOSYS or SIGSYS. */
#include "probe.h"
static long attempt(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_move_mount, -1, "", -1, "", 0); }
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("move_mount", &r); }
