/* Nested user namespace: unshare(CLONE_NEWUSER) gives a fresh full capability set and
 * the kernel attack surface behind it (most 2020-2024 LPEs). Forge refuses it inside,
 * like bwrap --disable-userns. SAFE: refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) { (void)a; (void)r; return unshare(CLONE_NEWUSER); }
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("unshare(CLONE_NEWUSER)", &r); }
