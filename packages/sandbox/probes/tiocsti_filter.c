/* Defense in depth for TIOCSTI: the probe opens its own pty, makes it the controlling
 * terminal of a new session and tries TIOCSTI on it. The kernel allows this, so only the
 * seccomp profile (Forge default: deny TIOCSTI, as a terminal shared by mistake would
 * otherwise be injectable) can stop it.
 * SAFE: refused (EPERM/ENOSYS/SIGSYS) or no pty can be made; UNSAFE: injection worked. */
#include "probe.h"
#ifndef HI
#define HI 0UL
#endif
static long attempt(void *a, struct res *r) {
  (void)a;
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0) { snprintf(r->note, sizeof r->note, "posix_openpt"); return -1; }
  if (grantpt(m) || unlockpt(m)) { snprintf(r->note, sizeof r->note, "unlockpt"); return -1; }
  const char *sn = ptsname(m);
  if (!sn) { snprintf(r->note, sizeof r->note, "ptsname"); return -1; }
  if (setsid() < 0) { snprintf(r->note, sizeof r->note, "setsid"); return -1; }
  int s = open(sn, O_RDWR);
  if (s < 0) { snprintf(r->note, sizeof r->note, "open %s", sn); return -1; }
  ioctl(s, TIOCSCTTY, 0);
  char c = '#';
  long ret = syscall(SYS_ioctl, s, (unsigned long)TIOCSTI | HI, &c);
  if (ret < 0) snprintf(r->note, sizeof r->note, "TIOCSTI");
  return ret;
}
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 && !r.sig && strncmp(r.note, "TIOCSTI", 7) != 0)
    SAFE("could not set up a pty (%s: %s)", r.note, ename(r.err));
  expect_refused(HI ? "TIOCSTI with junk in the upper 32 bits on an own pty" : "TIOCSTI on an own pty", &r);
}
