/* setns into a host namespace: through /proc/<hostpid>/ns/<type> of the harness's marker
 * process (when host pids show) and through NS_GET_PARENT / NS_GET_USERNS on our own
 * namespaces. SAFE: no namespace fd of the host can be joined. */
#include "probe.h"
#include <linux/nsfs.h>
int main(void) {
  const char *ns[] = {"mnt", "net", "pid", "uts", "ipc", "user", "cgroup"};
  const char *hp = arg("hostpid");
  char notes[600] = "";
  size_t n;
  if (hp) {
    for (int i = 0; i < 7; i++) {
      char p[128];
      snprintf(p, sizeof p, "/proc/%s/ns/%s", hp, ns[i]);
      int fd = open(p, O_RDONLY | O_CLOEXEC);
      n = strlen(notes);
      if (fd < 0) { if (i == 0) snprintf(notes + n, sizeof notes - n, "open %s: %s; ", p, ename(errno)); continue; }
      struct stat a, b;
      char own[64];
      snprintf(own, sizeof own, "/proc/self/ns/%s", ns[i]);
      if (fstat(fd, &a) == 0 && stat(own, &b) == 0 && a.st_ino == b.st_ino) { close(fd); continue; } /* our own ns */
      pid_t c = fork();
      if (c == 0) _exit(setns(fd, 0) == 0 ? 0 : 10 + (errno & 0x7f));
      int st = 0;
      waitpid(c, &st, 0);
      close(fd);
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0) UNSAFE("setns into the host's %s namespace (via /proc/%s/ns) succeeded", ns[i], hp);
      snprintf(notes + n, sizeof notes - n, "%s:%s ", ns[i], WIFEXITED(st) ? ename(WEXITSTATUS(st) - 10) : "signal");
    }
  }
  int u = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
  if (u >= 0) {
    int parent = ioctl(u, NS_GET_PARENT);
    n = strlen(notes);
    if (parent >= 0) {
      pid_t c = fork();
      if (c == 0) _exit(setns(parent, CLONE_NEWUSER) == 0 ? 0 : 10 + (errno & 0x7f));
      int st = 0;
      waitpid(c, &st, 0);
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0) UNSAFE("setns into the parent user namespace succeeded");
      snprintf(notes + n, sizeof notes - n, "parent userns:%s", WIFEXITED(st) ? ename(WEXITSTATUS(st) - 10) : "signal");
    } else snprintf(notes + n, sizeof notes - n, "NS_GET_PARENT:%s", ename(errno));
  }
  SAFE("no host namespace joinable: %s", notes);
}
