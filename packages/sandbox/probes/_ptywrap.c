/* Not a probe: runs on the host, outside the sandbox. Starts a new session whose
 * controlling terminal is a fresh pty, runs CMD... with that pty as stdin (stdout and
 * stderr stay as they are), and after CMD exits reports on stderr how many bytes were
 * injected into the terminal's input queue ("forge-ptywrap: injected=N"), which is the
 * ground truth for TIOCSTI-style attacks. Exits with CMD's status (128+N for signal N). */
#include "probe.h"
#include <termios.h>
int main(int argc, char **argv) {
  alarm(0);
  if (argc < 2) { fprintf(stderr, "usage: _ptywrap CMD [ARGS...]\n"); return 2; }
  if (setsid() < 0) { perror("forge-ptywrap: setsid"); return 125; }
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0 || grantpt(m) || unlockpt(m)) { perror("forge-ptywrap: posix_openpt"); return 125; }
  const char *sn = ptsname(m);
  int s = sn ? open(sn, O_RDWR) : -1;
  if (s < 0) { perror("forge-ptywrap: open pts"); return 125; }
  ioctl(s, TIOCSCTTY, 0);
  struct termios t;
  if (tcgetattr(s, &t) == 0) { cfmakeraw(&t); tcsetattr(s, TCSANOW, &t); }
  pid_t c = fork();
  if (c < 0) { perror("forge-ptywrap: fork"); return 125; }
  if (c == 0) {
    dup2(s, 0);
    if (s != 0) close(s);
    execvp(argv[1], argv + 1);
    fprintf(stderr, "forge-ptywrap: exec %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  int st = 0;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
  fcntl(s, F_SETFL, O_NONBLOCK);
  char buf[256];
  ssize_t total = 0, n;
  while ((n = read(s, buf, sizeof buf)) > 0) total += n;
  fprintf(stderr, "forge-ptywrap: injected=%zd\n", total);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
