/* An inherited fd that points outside the sandbox's root lets the payload walk the host
 * filesystem with openat(fd, "..") (runc CVE-2024-21626). The harness passes fd 3 on the
 * host directory that holds forge-outside-marker.
 * SAFE: no inherited fd reaches the marker (directly or through ".."). */
#include "probe.h"
int main(void) {
  for (int fd = 3; fd < 4096; fd++) {
    if (fcntl(fd, F_GETFD) < 0) continue;
    int m = openat(fd, "forge-outside-marker", O_RDONLY | O_CLOEXEC);
    if (m >= 0) UNSAFE("inherited fd %d opens the host's forge-outside-marker", fd);
    int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (up >= 0) {
      struct stat a, b;
      if (fstat(up, &a) == 0 && stat("/", &b) == 0 && !(a.st_dev == b.st_dev && a.st_ino == b.st_ino)) {
        const char *hr = arg("hostroot");
        int walk = up;
        for (int i = 0; i < 64; i++) {
          int nx = openat(walk, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (nx < 0) break;
          struct stat s;
          fstat(nx, &s);
          char id[64];
          snprintf(id, sizeof id, "%lu:%lu", (unsigned long)s.st_dev, (unsigned long)s.st_ino);
          if (hr && strcmp(id, hr) == 0) UNSAFE("inherited fd %d walks up to the host root", fd);
          if (walk != up) close(walk);
          walk = nx;
        }
      }
      close(up);
    }
  }
  SAFE("no inherited fd reaches outside the root");
}
