/* The harness listens on 127.0.0.1:<port> in the host's network namespace (local admin
 * APIs, databases, the Docker socket's TCP twin live there). SAFE: connect fails. */
#include "probe.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
int main(void) {
  const char *port = arg("port");
  if (!port) SAFE("harness passed no port (not checked)");
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) SAFE("socket(AF_INET): %s", ename(errno));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
    char b[64] = "";
    ssize_t n = read(s, b, sizeof b - 1);
    if (n > 0) b[n] = 0;
    b[strcspn(b, "\r\n")] = 0;
    UNSAFE("connected to the host's 127.0.0.1:%s (it said \"%s\")", port, b);
  }
  SAFE("connect 127.0.0.1:%s: %s", port, ename(errno));
}
