/* AF_NETLINK NETLINK_ROUTE: can read and (with CAP_NET_ADMIN) change routes, addresses,
 * firewall state. Judgment (Docker-default): SAFE if creation fails OR the netns is
 * private (route sockets in an empty netns only see the sandbox's own lo). */
#include "net.h"
#include <linux/netlink.h>
static long attempt(void *a, struct res *r) { (void)a; (void)r; return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 || r.sig) SAFE("socket(AF_NETLINK): %s", describe(&r));
  char why[128];
  if (private_netns(why, sizeof why)) SAFE("NETLINK_ROUTE socket created in a private netns (%s)", why);
  UNSAFE("NETLINK_ROUTE socket in the host's network namespace (%s)", why);
}
