/* The harness starts the sandbox with its cwd in a host directory outside the sandbox.
 * A cwd left there is a handle on the host filesystem (CVE-2024-21626).
 * SAFE: getcwd is inside the root and the host marker is not reachable from ".". */
#include "probe.h"
int main(void) {
  char cwd[1024];
  if (!getcwd(cwd, sizeof cwd)) {
    if (errno == ENOENT) UNSAFE("cwd is unreachable from the root (getcwd: ENOENT): it lies outside the sandbox");
    snprintf(cwd, sizeof cwd, "(getcwd: %s)", ename(errno));
  }
  if (strncmp(cwd, "(unreachable)", 13) == 0) UNSAFE("cwd outside the root: %s", cwd);
  if (access("forge-outside-marker", F_OK) == 0) UNSAFE("the host's forge-outside-marker is in the cwd %s", cwd);
  for (int i = 0; i < 64; i++) {
    if (chdir("..") != 0) break;
  }
  SAFE("cwd %s is inside the root", cwd);
}
