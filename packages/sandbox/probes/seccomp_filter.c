/* A seccomp filter must be installed (Seccomp: 2 in /proc/self/status) so the kernel's
 * attack surface is cut down even where privileges would allow a call. SAFE: mode 2. */
#include "probe.h"
int main(void) {
  char mode[64] = "missing"; /* status_field returns a static buffer: copy before the next call */
  const char *v = status_field("Seccomp");
  if (v) snprintf(mode, sizeof mode, "%s", v);
  const char *f = status_field("Seccomp_filters");
  if (strcmp(mode, "2") == 0) SAFE("seccomp mode 2 (filter), %s filter(s)", f ? f : "?");
  UNSAFE("no seccomp filter (Seccomp: %s)", mode);
}
