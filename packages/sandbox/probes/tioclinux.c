/* TIOCLINUX (selection paste, CVE-2023-1523 family) on fds 0-2, /dev/tty, /dev/tty0,
 * /dev/tty1 and /dev/console. SAFE: every attempt fails. */
#include "probe.h"
#include <linux/tiocl.h>
int main(void) {
  const char *paths[] = {"/dev/tty", "/dev/tty0", "/dev/tty1", "/dev/console"};
  char errs[400] = "";
  for (int i = 0; i < 7; i++) {
    int fd = i < 3 ? i : open(paths[i - 3], O_RDWR | O_NOCTTY | O_CLOEXEC);
    const char *nm = i < 3 ? (i == 0 ? "fd0" : i == 1 ? "fd1" : "fd2") : paths[i - 3];
    size_t n = strlen(errs);
    if (fd < 0) { snprintf(errs + n, sizeof errs - n, "%s%s:open=%s", n ? " " : "", nm, ename(errno)); continue; }
    char sub = TIOCL_GETSHIFTSTATE; /* harmless read-only subcode; same permission path */
    long r = syscall(SYS_ioctl, fd, TIOCLINUX, &sub);
    if (r == 0) UNSAFE("TIOCLINUX accepted on %s (a virtual console is reachable)", nm);
    snprintf(errs + n, sizeof errs - n, "%s%s=%s", n ? " " : "", nm, ename(errno));
    if (i >= 3) close(fd);
  }
  SAFE("TIOCLINUX refused everywhere: %s", errs);
}
