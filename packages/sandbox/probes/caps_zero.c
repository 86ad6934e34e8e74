/* Every capability set in /proc/self/status (CapInh, CapPrm, CapEff, CapBnd, CapAmb) must
 * be 0 in the default profile. SAFE: all zero. */
#include "probe.h"
int main(void) {
  const char *keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
  char bad[300] = "";
  for (int i = 0; i < 5; i++) {
    const char *v = status_field(keys[i]);
    if (!v) UNSAFE("/proc/self/status has no %s line (cannot verify)", keys[i]);
    if (strtoull(v, NULL, 16) != 0) {
      size_t n = strlen(bad);
      snprintf(bad + n, sizeof bad - n, "%s%s=%s", n ? " " : "", keys[i], v);
    }
  }
  if (bad[0]) UNSAFE("capabilities held: %s", bad);
  SAFE("all five capability sets are empty");
}
