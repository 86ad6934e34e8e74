/* socket(AF_VSOCK) with junk in the upper 32 bits of the family: the kernel takes the
 * family as an int (the low half), a rule that compares 64 bits (Docker's "allow socket
 * if family > 40") lets 40 | 1 << 32 through. SAFE: refused, or EAFNOSUPPORT (no vsock
 * transport; not denied by policy). UNSAFE: a vsock socket was created. */
#include "probe.h"
#include <sys/socket.h>
static long attempt(void *a, struct res *r) {
  (void)a;
  long fd = syscall(SYS_socket, (1UL << 32) | 40 /* AF_VSOCK */, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int d = -1;
    socklen_t n = sizeof d;
    getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &d, &n);
    snprintf(r->note, sizeof r->note, "SO_DOMAIN %d", d);
  }
  return fd;
}
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 && !r.sig && r.err == EAFNOSUPPORT)
    SAFE("socket(AF_VSOCK | 1 << 32): EAFNOSUPPORT (denied by the profile, or no vsock transport)");
  expect_refused("socket(AF_VSOCK | 1 << 32)", &r);
}
