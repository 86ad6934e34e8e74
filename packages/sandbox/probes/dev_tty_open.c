/* Opening /dev/tty succeeds only with a controlling terminal: a sandbox that still has
 * the host's terminal as its controlling tty can read it and inject into it.
 * SAFE: open fails (ENXIO: no controlling terminal, or /dev/tty absent). */
#include "probe.h"
int main(void) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    char name[64] = "?";
    ttyname_r(fd, name, sizeof name);
    UNSAFE("/dev/tty opened: the sandbox has a controlling terminal (%s)", name);
  }
  SAFE("/dev/tty: %s", ename(errno));
}
