/* sethostname("forge-probe-<pid>"): with a private UTS namespace only the sandbox sees it.
 * The harness compares the host's hostname before and after and overrides this verdict
 * with UNSAFE if the host's changed. SAFE here: refused, or changed only in our own UTS
 * namespace (harness-confirmed). */
#include "probe.h"
int main(void) {
  char name[64];
  snprintf(name, sizeof name, "forge-probe-%d", (int)getpid());
  if (sethostname(name, strlen(name)) != 0) SAFE("sethostname refused: %s", ename(errno));
  SAFE("sethostname succeeded inside the sandbox (host hostname checked by the harness)");
}
