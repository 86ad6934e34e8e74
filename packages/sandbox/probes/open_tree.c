/* open_tree(OPEN_TREE_CLONE|AT_RECURSIVE) of "/": a detached copy of the mount tree that
 * can be attached elsewhere (new mount API). SAFE: refused. */
#include "probe.h"
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
static long attempt(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC); }
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("open_tree(CLONE)", &r); }
