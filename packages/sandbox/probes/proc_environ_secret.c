/* The launcher's secret (FORGE_PROBE_SECRET) must not be readable through
 * /proc/<pid>/environ of any process we can see (pid 1, a reaper forked from the launcher
 * without exec, still has the launcher's environment block) nor through /proc/1/cmdline.
 * SAFE: no readable environ holds it. */
#include "probe.h"
int main(void) {
  DIR *d = opendir("/proc");
  if (!d) SAFE("/proc not readable: %s", ename(errno));
  struct dirent *e;
  char buf[65536], p[300];
  int seen = 0, readable = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    if (atoi(e->d_name) == getpid()) continue;
    seen++;
    snprintf(p, sizeof p, "/proc/%s/environ", e->d_name);
    ssize_t n = read_file(p, buf, sizeof buf);
    if (n < 0) continue;
    readable++;
    if (memmem(buf, (size_t)n, "FORGE_PROBE_SECRET=", 19)) UNSAFE("FORGE_PROBE_SECRET readable in /proc/%s/environ", e->d_name);
  }
  closedir(d);
  SAFE("secret in none of %d other processes' environ (%d readable)", seen, readable);
}
