/* The harness runs a marker process on the host (argv[0] "forge-hostmark-<mark>") and
 * passes its host pid and <mark>. A sandbox with its own pid namespace and its own /proc
 * must not see it. SAFE: neither /proc/<hostpid> with the marker nor any /proc entry with
 * the marker is visible; kill(hostpid, 0) does not reach it. */
#include "probe.h"
int main(void) {
  const char *hp = arg("hostpid"), *mark = arg("mark");
  if (!hp || !mark) SAFE("harness passed no hostpid/mark (not checked)");
  char want[128], path[300], buf[4096];
  snprintf(want, sizeof want, "forge-hostmark-%s", mark);
  DIR *d = opendir("/proc");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
      ssize_t n = read_file(path, buf, sizeof buf);
      if (n > 0 && memmem(buf, (size_t)n, want, strlen(want)))
        UNSAFE("host marker process visible as /proc/%s (host pid %s)", e->d_name, hp);
    }
    closedir(d);
  }
  /* The host pid may be in use by a sandbox process; only a match on the marker counts. */
  snprintf(path, sizeof path, "/proc/%s/cmdline", hp);
  ssize_t n = read_file(path, buf, sizeof buf);
  if (n > 0 && memmem(buf, (size_t)n, want, strlen(want))) UNSAFE("/proc/%s is the host marker process", hp);
  SAFE("no process with the host marker in /proc (/proc %s)", d ? "readable" : "not readable");
}
