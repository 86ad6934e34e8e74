/* socket(AF_VSOCK) through the i386 socketcall multiplexer (int $0x80, nr 102,
 * SYS_SOCKET): its arguments sit in memory, out of seccomp's sight, so a profile that
 * allows socketcall lets every family through whatever its socket rules say. vsock talks
 * to the hypervisor host and is not confined by network namespaces.
 * SAFE: refused (EPERM/ENOSYS/SIGSYS), EAFNOSUPPORT (no vsock transport; not denied by
 * policy), or no i386 ABI (SIGSEGV). UNSAFE: a vsock socket was created. */
#include "i386.h"
#include <sys/socket.h>
static long attempt(void *a, struct res *r) {
  (void)a;
  long fd = i386_socketcall(SYS_SOCKET_CALL, 40 /* AF_VSOCK */, SOCK_STREAM, 0);
  if (fd >= 0) snprintf(r->note, sizeof r->note, "SO_DOMAIN %d", socket_domain((int)fd));
  return fd;
}
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.sig == SIGSEGV) SAFE("i386 ABI not available (SIGSEGV on int $0x80)");
  if (r.ret < 0 && !r.sig && r.err == EAFNOSUPPORT)
    SAFE("i386 socketcall(SYS_SOCKET, AF_VSOCK): EAFNOSUPPORT (denied by the profile, or no vsock transport)");
  expect_refused("i386 socketcall(SYS_SOCKET, AF_VSOCK)", &r);
}
