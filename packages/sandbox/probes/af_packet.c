/* AF_PACKET raw sockets see every frame of the netns and reach a large parser surface
 * (CVE-2017-7308, CVE-2020-14386). Judgment (Docker-default): SAFE if creation fails OR
 * our network namespace is private (then only the sandbox's own lo is visible). */
#include "net.h"
#include <arpa/inet.h>
#include <linux/if_ether.h>
static long attempt(void *a, struct res *r) { (void)a; (void)r; return socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)); }
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 || r.sig) {
    if (refused(&r) || r.err == EAFNOSUPPORT) SAFE("socket(AF_PACKET): %s", describe(&r));
    SAFE("socket(AF_PACKET) failed: %s", describe(&r));
  }
  char why[128];
  if (private_netns(why, sizeof why)) SAFE("AF_PACKET socket created, but only in a private netns (%s)", why);
  UNSAFE("AF_PACKET raw socket in the host's network namespace (%s)", why);
}
