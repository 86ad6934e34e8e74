/* Inherited file descriptors: the harness starts the sandbox with an extra fd 3 open (a
 * host directory outside the sandbox, CVE-2024-21626 style). Only 0, 1, 2 may be open when
 * the payload starts. SAFE: no fd >= 3 is open at start. */
#include "probe.h"
int main(void) {
  char open_fds[400] = "";
  int count = 0;
  for (int fd = 3; fd < 4096; fd++) {
    if (fcntl(fd, F_GETFD) < 0) continue;
    count++;
    char lp[64], tgt[200] = "?";
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(lp, tgt, sizeof tgt - 1);
    if (n > 0) tgt[n] = 0;
    size_t k = strlen(open_fds);
    if (k < sizeof open_fds - 80) snprintf(open_fds + k, sizeof open_fds - k, "%s%d->%s", k ? " " : "", fd, tgt);
  }
  if (count) UNSAFE("%d inherited fd(s) open at start: %s", count, open_fds);
  SAFE("only fds 0-2 open at start");
}
