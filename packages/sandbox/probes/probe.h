/*
 * Shared helpers for Forge's escape probes.
 *
 * Every probe is one C file, compiled by the harness (packages/sandbox/src/_probes.ts)
 * with -DPROBE_NAME="<file name>" into a static binary, and run inside the sandbox under
 * test with arguments key=value (hostpid, mark, port, abstract, outside, hostroot, dir).
 * A probe prints exactly one line, "SAFE <name>: <reason>" or "UNSAFE <name>: <reason>",
 * and exits 0. alarm(5) makes sure a probe never hangs; dangerous calls run in a forked
 * child (guarded()) so that a seccomp kill (SIGSYS) counts as "blocked", not as a crash.
 */
#ifndef FORGE_PROBE_H
#define FORGE_PROBE_H
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PROBE_NAME
#error "compile with -DPROBE_NAME=\"name\""
#endif

static __attribute__((unused)) int probe_argc;
static __attribute__((unused)) char **probe_argv;

__attribute__((constructor)) static void probe_init(int argc, char **argv) {
  probe_argc = argc;
  probe_argv = argv;
  alarm(5);
}

__attribute__((format(printf, 2, 3), noreturn)) static void verdict(int safe, const char *fmt, ...) {
  char buf[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  for (char *p = buf; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  printf("%s %s: %s\n", safe ? "SAFE" : "UNSAFE", PROBE_NAME, buf);
  fflush(stdout);
  _exit(0);
}
#define SAFE(...) verdict(1, __VA_ARGS__)
#define UNSAFE(...) verdict(0, __VA_ARGS__)

/* The value of argument key=value, or NULL. */
static __attribute__((unused)) const char *arg(const char *key) {
  size_t n = strlen(key);
  for (int i = 1; i < probe_argc; i++)
    if (strncmp(probe_argv[i], key, n) == 0 && probe_argv[i][n] == '=') return probe_argv[i] + n + 1;
  return NULL;
}

static __attribute__((unused)) const char *ename(int e) {
  const char *s = strerrorname_np(e);
  return s ? s : "E?";
}

/* The result of a call made in a guarded child. */
struct res {
  long ret;
  int err;
  int sig; /* the signal that killed the child, 0 if it returned */
  char note[200];
};

/*
 * Runs fn in a forked child and reports its return value and errno, or the signal that
 * killed it (SIGSYS: a seccomp kill). The child may write a note into r->note.
 */
static __attribute__((unused)) struct res guarded(long (*fn)(void *arg, struct res *r), void *a) {
  struct res r;
  memset(&r, 0, sizeof r);
  int p[2];
  if (pipe(p) != 0) {
    r.ret = -1;
    r.err = errno;
    snprintf(r.note, sizeof r.note, "pipe failed");
    return r;
  }
  pid_t pid = fork();
  if (pid < 0) {
    r.ret = -1;
    r.err = errno;
    snprintf(r.note, sizeof r.note, "fork failed");
    return r;
  }
  if (pid == 0) {
    close(p[0]);
    struct res c;
    memset(&c, 0, sizeof c);
    errno = 0;
    c.ret = fn(a, &c);
    c.err = c.ret < 0 ? errno : 0;
    if (write(p[1], &c, sizeof c) != sizeof c) _exit(2);
    _exit(0);
  }
  close(p[1]);
  ssize_t n = read(p[0], &r, sizeof r);
  close(p[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (WIFSIGNALED(st)) {
    memset(&r, 0, sizeof r);
    r.ret = -1;
    r.sig = WTERMSIG(st);
  } else if (n != sizeof r) {
    memset(&r, 0, sizeof r);
    r.ret = -1;
    r.err = EIO;
    snprintf(r.note, sizeof r.note, "guarded child exited %d without a result", WEXITSTATUS(st));
  }
  return r;
}

/* True when the call was refused the way a sandbox refuses: EPERM/EACCES/ENOSYS or SIGSYS. */
static __attribute__((unused)) int refused(const struct res *r) {
  if (r->sig == SIGSYS) return 1;
  return r->ret < 0 && (r->err == EPERM || r->err == EACCES || r->err == ENOSYS);
}

/* "EPERM", "killed by SIGSYS (seccomp)", "returned 3", ... */
static __attribute__((unused)) const char *describe(const struct res *r) {
  static char buf[300];
  if (r->sig)
    snprintf(buf, sizeof buf, "killed by %s%s", sigabbrev_np(r->sig) ? sigabbrev_np(r->sig) : "?",
             r->sig == SIGSYS ? " (seccomp)" : "");
  else if (r->ret < 0)
    snprintf(buf, sizeof buf, "%s", ename(r->err));
  else
    snprintf(buf, sizeof buf, "returned %ld", r->ret);
  if (r->note[0]) {
    size_t n = strlen(buf);
    snprintf(buf + n, sizeof buf - n, " (%s)", r->note);
  }
  return buf;
}

/* SAFE when refused, UNSAFE otherwise; `what` names the attempt. */
__attribute__((noreturn, unused)) static void expect_refused(const char *what, const struct res *r) {
  if (refused(r)) SAFE("%s: %s", what, describe(r));
  UNSAFE("%s: %s", what, describe(r));
}

/* Reads a whole small file into buf (NUL-terminated); returns bytes or -1 with errno. */
static __attribute__((unused)) ssize_t read_file(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = 0;
  for (;;) {
    ssize_t k = read(fd, buf + n, cap - 1 - n);
    if (k < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    if (k == 0 || n + (size_t)k >= cap - 1) {
      n += (size_t)(k > 0 ? k : 0);
      break;
    }
    n += (size_t)k;
  }
  close(fd);
  buf[n] = 0;
  return (ssize_t)n;
}

/* The value after "Key:" in /proc/self/status, or NULL. */
/* The start of the first writable mapping of pid 1 (from /proc/1/maps), or 0 with errno
 * set when the maps cannot be read. */
static __attribute__((unused)) unsigned long init_writable_addr(void) {
  static char maps[65536];
  if (read_file("/proc/1/maps", maps, sizeof maps) <= 0) return 0;
  for (char *l = maps; l && *l;) {
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(l, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[0] == 'r' && perms[1] == 'w') return lo;
    l = strchr(l, '\n');
    if (l) l++;
  }
  errno = ENOENT;
  return 0;
}

static __attribute__((unused)) const char *status_field(const char *key) {
  static char buf[8192];
  static char val[256];
  if (read_file("/proc/self/status", buf, sizeof buf) < 0) return NULL;
  size_t n = strlen(key);
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      char *v = line + n + 1;
      while (*v == ' ' || *v == '\t') v++;
      size_t k = strcspn(v, "\n");
      if (k >= sizeof val) k = sizeof val - 1;
      memcpy(val, v, k);
      val[k] = 0;
      return val;
    }
  }
  return NULL;
}

/*
 * Maps an id inside our user namespace to the id outside (in the parent namespace) using
 * /proc/self/uid_map or gid_map; returns -1 when it is not mapped or the map is unreadable.
 */
static __attribute__((unused)) long long outside_id(const char *map, unsigned long id) {
  char buf[4096];
  if (read_file(map, buf, sizeof buf) < 0) return -1;
  char *s = buf;
  unsigned long in, out, count;
  int used;
  while (sscanf(s, " %lu %lu %lu%n", &in, &out, &count, &used) == 3) {
    if (id >= in && id - in < count) return (long long)(out + (id - in));
    s += used;
  }
  return -1;
}

/* A writable directory for scratch files (tmp, /dev/shm, cwd), or NULL. */
static __attribute__((unused)) const char *scratch_dir(void) {
  static const char *cands[] = {"/tmp", "/dev/shm", "/var/tmp", "."};
  static char path[256];
  for (size_t i = 0; i < sizeof cands / sizeof *cands; i++) {
    snprintf(path, sizeof path, "%s/.forge-probe-%d", cands[i], (int)getpid());
    if (mkdir(path, 0700) == 0) return path;
  }
  return NULL;
}

#endif
