/* socket(AF_PACKET, SOCK_RAW) through the i386 socketcall multiplexer (int $0x80, nr 102,
 * SYS_SOCKET): the profile denies AF_PACKET for socket(), but socketcall's arguments sit
 * in memory, out of seccomp's sight. AF_PACKET is a large parser surface
 * (CVE-2017-7308, CVE-2020-14386) even in a private netns.
 * SAFE: refused (EPERM/ENOSYS/SIGSYS, EAFNOSUPPORT), or no i386 ABI (SIGSEGV). UNSAFE: a
 * packet socket was created (the reason says whether the netns is private). */
#include "i386.h"
#include "net.h"
#include <arpa/inet.h>
#include <linux/if_ether.h>
static long attempt(void *a, struct res *r) {
  (void)a;
  long fd = i386_socketcall(SYS_SOCKET_CALL, 17 /* AF_PACKET */, SOCK_RAW, htons(ETH_P_ALL));
  if (fd >= 0) snprintf(r->note, sizeof r->note, "SO_DOMAIN %d", socket_domain((int)fd));
  return fd;
}
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.sig == SIGSEGV) SAFE("i386 ABI not available (SIGSEGV on int $0x80)");
  if (r.ret < 0 && !r.sig && r.err == EAFNOSUPPORT)
    SAFE("i386 socketcall(SYS_SOCKET, AF_PACKET): EAFNOSUPPORT");
  if (refused(&r)) SAFE("i386 socketcall(SYS_SOCKET, AF_PACKET): %s", describe(&r));
  char why[128];
  private_netns(why, sizeof why);
  UNSAFE("i386 socketcall(SYS_SOCKET, AF_PACKET): %s: a packet socket, out of reach of any AF_PACKET rule (%s)", describe(&r), why);
}
