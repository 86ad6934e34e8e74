/* fsopen("tmpfs"): the new mount API's way to create a filesystem context.
 * SAFE: refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_fsopen, "tmpfs", 1 /* FSOPEN_CLOEXEC */); }
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("fsopen(tmpfs)", &r); }
