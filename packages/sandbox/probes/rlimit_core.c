/* Core dumps from the sandbox land in the host's core_pattern handler (and leak memory
 * to files). Forge sets RLIMIT_CORE 0 by default. SAFE: soft and hard limit are 0. */
#include "probe.h"
#include <sys/resource.h>
int main(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_CORE, &rl) != 0) UNSAFE("getrlimit: %s", ename(errno));
  if (rl.rlim_cur == 0 && rl.rlim_max == 0) SAFE("RLIMIT_CORE 0/0");
  UNSAFE("RLIMIT_CORE soft %lld hard %lld", (long long)(rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur), (long long)(rl.rlim_max == RLIM_INFINITY ? -1 : (long long)rl.rlim_max));
}
