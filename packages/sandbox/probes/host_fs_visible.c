/* The host filesystem must not be visible: the harness creates a marker file in a host
 * directory that is not bound into the sandbox (outside=DIR) and passes the host root's
 * identity (hostroot=DEV:INO). SAFE: marker not reachable by path and "/" is not the
 * host's root. */
#include "probe.h"
int main(void) {
  const char *out = arg("outside"), *hr = arg("hostroot");
  char p[600];
  struct stat st;
  if (out) {
    snprintf(p, sizeof p, "%s/forge-outside-marker", out);
    if (stat(p, &st) == 0) UNSAFE("host file %s is visible", p);
  }
  if (stat("/", &st) == 0 && hr) {
    char id[64];
    snprintf(id, sizeof id, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
    if (strcmp(id, hr) == 0) UNSAFE("the sandbox's / is the host's / (%s)", id);
  }
  if (!out && !hr) SAFE("harness passed no outside/hostroot (not checked)");
  SAFE("host marker not visible (%s)", out ? ename(errno) : "no outside dir");
}
