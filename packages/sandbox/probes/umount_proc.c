/* umount2(MNT_DETACH) of /proc, /sys/firmware-style masks or the probe bind: removing a
 * mask uncovers what it hides (and in a chroot-based sandbox the host beneath).
 * SAFE: refused (EPERM/EACCES/ENOSYS or SIGSYS; EINVAL means nothing was mounted there). */
#include "probe.h"
#include <sys/mount.h>
static long attempt(void *a, struct res *r) {
  (void)a;
  const char *t[] = {"/proc/kcore", "/proc/keys", "/sys/firmware", "/proc", "/dev"};
  long last = -1;
  int lerr = EINVAL;
  for (int i = 0; i < 5; i++) {
    long ret = umount2(t[i], MNT_DETACH);
    if (ret == 0) { snprintf(r->note, sizeof r->note, "unmounted %s", t[i]); return 0; }
    if (errno != EINVAL && errno != ENOENT) { last = ret; lerr = errno; snprintf(r->note, sizeof r->note, "%s", t[i]); }
  }
  errno = lerr;
  return last;
}
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 && !r.sig && r.err == EINVAL) SAFE("umount2: no mount points to detach (EINVAL)");
  expect_refused("umount2(MNT_DETACH)", &r);
}
