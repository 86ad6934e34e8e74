/* The harness puts FORGE_PROBE_SECRET=... into the environment of the sandbox launcher;
 * the sandbox gets a clean environment. SAFE: not in our environ. */
#include "probe.h"
extern char **environ;
int main(void) {
  for (char **e = environ; e && *e; e++)
    if (strncmp(*e, "FORGE_PROBE_SECRET=", 19) == 0) UNSAFE("FORGE_PROBE_SECRET inherited in environ");
  SAFE("FORGE_PROBE_SECRET not in environ");
}
