/* The harness listens on an abstract unix socket (arg abstract=NAME) in the host's
 * network namespace (X11, D-Bus and containerd shims have used these). Abstract sockets
 * are scoped by network namespace (and by Landlock ABI 6). SAFE: connect fails. */
#include "probe.h"
#include <sys/socket.h>
#include <sys/un.h>
int main(void) {
  const char *name = arg("abstract");
  if (!name) SAFE("harness passed no abstract socket name (not checked)");
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t n = strlen(name);
  if (n > sizeof a.sun_path - 2) n = sizeof a.sun_path - 2;
  memcpy(a.sun_path + 1, name, n);
  /* The name is the exact bytes, or (as Node and libuv bind it) padded with NULs to the
   * full sun_path: try both lengths. */
  socklen_t lens[2] = {(socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n), (socklen_t)sizeof a};
  int errs[2];
  for (int i = 0; i < 2; i++) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) SAFE("socket(AF_UNIX): %s", ename(errno));
    if (connect(s, (struct sockaddr *)&a, lens[i]) == 0)
      UNSAFE("connected to the host's abstract unix socket @%s (%s length)", name, i ? "padded" : "exact");
    errs[i] = errno;
    close(s);
  }
  SAFE("connect @%s: %s (exact), %s (padded)", name, ename(errs[0]), ename(errs[1]));
}
