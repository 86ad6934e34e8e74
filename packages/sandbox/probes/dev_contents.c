/* /dev may hold only null, zero, full, random, urandom, tty, pts, ptmx, shm, fd, stdin,
 * stdout, stderr (and "." and ".."). SAFE: nothing else. */
#include "probe.h"
int main(void) {
  const char *ok[] = {"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "fd", "stdin", "stdout", "stderr"};
  DIR *d = opendir("/dev");
  if (!d) SAFE("/dev not readable: %s", ename(errno));
  char extra[600] = "";
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    int allowed = 0;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) if (!strcmp(e->d_name, ok[i])) allowed = 1;
    if (allowed) continue;
    n++;
    size_t k = strlen(extra);
    if (k < sizeof extra - 40) snprintf(extra + k, sizeof extra - k, "%s%s", k ? "," : "", e->d_name);
  }
  closedir(d);
  if (n) UNSAFE("%d unexpected entr%s in /dev: %s", n, n == 1 ? "y" : "ies", extra);
  SAFE("/dev holds only the allowed entries");
}
