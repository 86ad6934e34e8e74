/* Executes the setuid-root helper the harness placed next to the probes (arg suid=PATH)
 * and reads the helper's effective uid and the uid it maps to one user namespace up; the
 * harness reads the helper's Uid line from the host's /proc, and that host view decides.
 * SAFE: exec refused, or the helper's effective uid is not host root. */
#include "probe.h"
int main(void) {
  const char *suid = arg("suid");
  if (!suid) SAFE("harness passed no setuid helper (not checked)");
  struct stat st;
  if (stat(suid, &st) != 0) SAFE("helper %s not reachable: %s", suid, ename(errno));
  int p[2];
  if (pipe(p)) UNSAFE("pipe: %s", ename(errno));
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    execl(suid, suid, (char *)NULL);
    printf("exec-failed %s\n", ename(errno));
    fflush(stdout);
    _exit(127);
  }
  close(p[1]);
  char out[512] = "";
  ssize_t n = read(p[0], out, sizeof out - 1);
  if (n > 0) out[n] = 0;
  waitpid(pid, NULL, 0);
  out[strcspn(out, "\n")] = 0;
  long euid = -1, hosteuid = -2;
  if (strncmp(out, "exec-failed", 11) == 0) SAFE("exec of the setuid helper refused: %s", out + 12);
  if (sscanf(out, "euid=%ld hosteuid=%ld", &euid, &hosteuid) != 2) UNSAFE("unexpected helper output: %s", out);
  if (hosteuid == 0) UNSAFE("setuid helper ran with euid %ld = uid 0 of the parent user namespace (probe euid %d)", euid, (int)geteuid());
  SAFE("setuid helper ran with euid %ld, parent-namespace uid %ld (probe euid %d)", euid, hosteuid, (int)geteuid());
}
