/* The sandbox's ids must not map to host root: root inside a user namespace that maps to
 * host uid 0 passes every uid-0 file permission check on the host (/proc/sys files,
 * root-owned files reachable through binds or leaked fds).
 * In here we only see the map to the parent user namespace (bwrap nests two), so the
 * harness also reads this process's Uid line from the host's /proc while it runs (it
 * stays alive 300 ms for that) and its host view decides the verdict.
 * SAFE: our uid and gid map to non-zero outside ids and no line of the maps covers 0. */
#include "probe.h"
static int covers_zero(const char *map, char *out, size_t cap) {
  char buf[4096];
  if (read_file(map, buf, sizeof buf) < 0) { snprintf(out, cap, "%s unreadable", map); return 0; }
  char *s = buf;
  unsigned long in, o, count;
  int used;
  while (sscanf(s, " %lu %lu %lu%n", &in, &o, &count, &used) == 3) {
    if (o == 0) { snprintf(out, cap, "%s maps %lu to 0 of the parent user namespace", map, in); return 1; }
    s += used;
  }
  snprintf(out, cap, "%s: %.60s", map, buf);
  return 0;
}
int main(void) {
  usleep(300000); /* let the harness see us from the host */
  char a[200], b[200];
  int u = covers_zero("/proc/self/uid_map", a, sizeof a);
  int g = covers_zero("/proc/self/gid_map", b, sizeof b);
  if (u || g) UNSAFE("%s%s%s", u ? a : "", u && g ? "; " : "", g ? b : "");
  SAFE("no id maps to host 0 (%s; %s)", a, b);
}
