/* Not a probe: used by the harness's kill test. Tries hard to outlive the sandbox
 * launcher: forks a grandchild in a new session that ignores SIGHUP/SIGTERM and clears
 * its parent-death signal, then everything sleeps. The harness finds survivors by the
 * marker in their cmdline (argv[1]). Prints "ready" once the grandchild runs. */
#include "probe.h"
#include <sys/prctl.h>
int main(int argc, char **argv) {
  (void)argc; (void)argv;
  alarm(0);
  int p[2];
  if (pipe(p)) return 1;
  pid_t c = fork();
  if (c == 0) {
    setsid();
    if (fork() == 0) {
      signal(SIGHUP, SIG_IGN);
      signal(SIGTERM, SIG_IGN);
      prctl(PR_SET_PDEATHSIG, 0);
      write(p[1], "r", 1);
      for (int i = 0; i < 120; i++) sleep(1);
      _exit(0);
    }
    for (int i = 0; i < 120; i++) sleep(1);
    _exit(0);
  }
  char b;
  read(p[0], &b, 1);
  printf("ready\n");
  fflush(stdout);
  for (int i = 0; i < 120; i++) sleep(1);
  return 0;
}
