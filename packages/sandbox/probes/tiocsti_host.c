/* TIOCSTI into the terminal the sandbox was started from (fds 0-2 and /dev/tty): pushes
 * bytes into the host shell's input queue (CVE-2016-7545, CVE-2017-5226 in bwrap).
 * The harness runs the sandbox with a pty as its controlling terminal on stdin.
 * SAFE: every attempt fails (setsid, or TIOCSTI denied by seccomp / legacy_tiocsti=0). */
#include "probe.h"
#include <termios.h>
#ifndef HI
#define HI 0UL
#endif
int main(void) {
  char ok[200] = "", errs[300] = "";
  int fds[4] = {0, 1, 2, -1};
  fds[3] = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  int tty_err = errno;
  int tries = 0;
  for (int i = 0; i < 4; i++) {
    int fd = fds[i];
    if (fd < 0 || !isatty(fd)) continue;
    tries++;
    char c = '#';
    long r = syscall(SYS_ioctl, fd, (unsigned long)TIOCSTI | HI, &c);
    size_t n = strlen(errs);
    if (r == 0) {
      size_t m = strlen(ok);
      snprintf(ok + m, sizeof ok - m, "%s%s", m ? "," : "", i == 3 ? "/dev/tty" : (i == 0 ? "fd0" : i == 1 ? "fd1" : "fd2"));
    } else {
      snprintf(errs + n, sizeof errs - n, "%s%s=%s", n ? " " : "", i == 3 ? "/dev/tty" : (i == 0 ? "fd0" : i == 1 ? "fd1" : "fd2"), ename(errno));
    }
  }
  if (ok[0]) UNSAFE("TIOCSTI%s injected a byte into the host terminal via %s", HI ? " (junk in upper 32 bits)" : "", ok);
  if (!tries) SAFE("no terminal reachable (fds 0-2 are not ttys, /dev/tty: %s)", fds[3] < 0 ? ename(tty_err) : "not a tty");
  SAFE("TIOCSTI%s refused: %s", HI ? " (junk in upper 32 bits)" : "", errs);
}
