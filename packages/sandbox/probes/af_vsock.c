/* AF_VSOCK talks to the hypervisor host and other VMs; it is not confined by network
 * namespaces, so a private netns does not help. Judgment: SAFE only if the socket cannot
 * be created (Forge default denies AF_VSOCK; EAFNOSUPPORT when no transport exists). */
#include "probe.h"
#include <sys/socket.h>
static long attempt(void *a, struct res *r) { (void)a; (void)r; return socket(40 /* AF_VSOCK */, SOCK_STREAM | SOCK_CLOEXEC, 0); }
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 && !r.sig && r.err == EAFNOSUPPORT) SAFE("AF_VSOCK: EAFNOSUPPORT (no vsock transport; not denied by policy)");
  expect_refused("socket(AF_VSOCK)", &r);
}
