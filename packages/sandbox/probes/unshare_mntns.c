/* unshare(CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWUTS|CLONE_NEWIPC) without a new user
 * namespace: needs CAP_SYS_ADMIN in ours (Docker's default profile denies it without
 * that capability). SAFE: refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) { (void)a; (void)r; return unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC); }
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("unshare(NEWNS|NEWNET|NEWUTS|NEWIPC)", &r); }
