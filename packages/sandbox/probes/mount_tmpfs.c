/* mount(2) of a tmpfs over /tmp (or /). Inside its own mount namespace this only changes
 * the sandbox's view, but mount is the entry to every mount-based escape and to
 * filesystem code (overlayfs, fuse) reachable from a user namespace. SAFE: refused. */
#include "probe.h"
#include <sys/mount.h>
static long attempt(void *a, struct res *r) {
  (void)a; (void)r;
  struct stat st;
  const char *t = stat("/tmp", &st) == 0 ? "/tmp" : "/";
  long ret = mount("forge-probe", t, "tmpfs", 0, "size=64k");
  if (ret == 0) { snprintf(r->note, sizeof r->note, "on %s", t); umount2(t, MNT_DETACH); }
  return ret;
}
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("mount tmpfs", &r); }
