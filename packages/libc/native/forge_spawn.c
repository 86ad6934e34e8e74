/*
 * The Forge spawn trampoline: clones a child and runs a program of raw syscalls in it
 * before execve. No JavaScript runs in the child; the child makes raw syscalls only
 * (no malloc, no locks, no stdio). All meaning lives in TypeScript: this file is a
 * generic interpreter and should not need to change when a feature is added.
 *
 * Program: an array of 72-byte ops (struct forge_op). Arguments are immediates,
 * pointers into a data blob, results of earlier ops, or 32/64-bit loads from the blob.
 * A failing op writes {index, errno} to a close-on-exec pipe and the child exits 127;
 * EOF on that pipe tells the parent that execve succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORGE_ABI 1
#define MAX_OPS 512
#define CHILD_STACK (256 * 1024)

enum { OP_SYSCALL = 0, OP_WAIT_BYTE = 1, OP_REAPER = 2 };
enum { ARG_IMM = 0, ARG_DATA = 1, ARG_RESULT = 2, ARG_MEM32 = 3, ARG_MEM64 = 4 };
enum { STEP_OPTIONAL = 1 };
enum { MODE_VFORK = 0, MODE_FORK = 1 };

struct forge_op {
  uint32_t code;
  uint32_t flags;
  int64_t nr;
  uint8_t kinds[8];
  int64_t args[6];
};

_Static_assert(sizeof(struct forge_op) == 72, "forge_op layout is part of the ABI");

struct child_ctx {
  const struct forge_op *ops;
  uint32_t nops;
  uint8_t *data;
  int err_w;
  int mode;
};

int forge_abi_version(void) { return FORGE_ABI; }

static long raw(long nr, long a, long b, long c, long d, long e, long f) {
  long r = syscall(nr, a, b, c, d, e, f);
  return r == -1 ? -errno : r;
}

static __attribute__((noreturn)) void child_fail(const struct child_ctx *ctx, int32_t index, int32_t err) {
  int32_t rec[2] = {index, err};
  raw(SYS_write, ctx->err_w, (long)rec, sizeof rec, 0, 0, 0);
  for (;;) raw(SYS_exit_group, 127, 0, 0, 0, 0, 0);
}

static int64_t arg_value(const struct child_ctx *ctx, const int64_t *results, uint8_t kind, int64_t v) {
  switch (kind) {
    case ARG_DATA: return (int64_t)(uintptr_t)(ctx->data + v);
    case ARG_RESULT: return results[v];
    case ARG_MEM32: { int32_t x; memcpy(&x, ctx->data + v, 4); return x; }
    case ARG_MEM64: { int64_t x; memcpy(&x, ctx->data + v, 8); return x; }
    default: return v;
  }
}

/* PID 1 of a new pid namespace: forwards signals to the payload, reaps orphans and
 * exits with the payload's status (128+N for a signal), which it also writes as a raw
 * wait status to status_fd when that is >= 0. */
static __attribute__((noreturn)) void reaper(pid_t payload, int status_fd) {
  sigset_t all;
  sigfillset(&all);
  raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0, _NSIG / 8, 0, 0);
  if (status_fd >= 0) {
    if (status_fd > 0) raw(SYS_close_range, 0, status_fd - 1, 0, 0, 0, 0);
    raw(SYS_close_range, status_fd + 1, ~0U, 0, 0, 0, 0);
  } else {
    raw(SYS_close_range, 0, ~0U, 0, 0, 0, 0);
  }
  raw(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);
  for (;;) {
    siginfo_t si;
    long sig = raw(SYS_rt_sigtimedwait, (long)&all, (long)&si, 0, _NSIG / 8, 0, 0);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      raw(SYS_kill, payload, sig, 0, 0, 0, 0);
      continue;
    }
    for (;;) {
      int st = 0;
      long w = raw(SYS_wait4, -1, (long)&st, WNOHANG | __WALL, 0, 0, 0);
      if (w <= 0) break;
      if (w == payload) {
        if (status_fd >= 0) raw(SYS_write, status_fd, (long)&st, sizeof st, 0, 0, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        for (;;) raw(SYS_exit_group, code, 0, 0, 0, 0, 0);
      }
    }
  }
}

static int child_main(void *arg) {
  const struct child_ctx *ctx = arg;
  int64_t results[MAX_OPS];

  /* Node's handlers must never run here: every signal back to its default, then unblock. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < _NSIG; s++) {
    if (s != SIGKILL && s != SIGSTOP) raw(SYS_rt_sigaction, s, (long)&dfl, 0, _NSIG / 8, 0, 0);
  }
  sigset_t none;
  sigemptyset(&none);
  raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, _NSIG / 8, 0, 0);

  for (uint32_t i = 0; i < ctx->nops; i++) {
    const struct forge_op *op = &ctx->ops[i];
    int64_t a[6];
    for (int j = 0; j < 6; j++) a[j] = arg_value(ctx, results, op->kinds[j], op->args[j]);
    long r;
    switch (op->code) {
      case OP_SYSCALL:
        r = raw(op->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        break;
      case OP_WAIT_BYTE: {
        char c = 0;
        r = raw(SYS_read, a[0], (long)&c, 1, 0, 0, 0);
        if (r == 0) r = -ECANCELED;
        else if (r == 1) r = (unsigned char)c;
        break;
      }
      case OP_REAPER:
        if (ctx->mode != MODE_FORK) {
          r = -EINVAL;
          break;
        }
        r = raw(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
        if (r > 0) reaper((pid_t)r, (int)a[0]);
        if (r == 0 && a[0] >= 0) raw(SYS_close, a[0], 0, 0, 0, 0, 0);
        break;
      default:
        r = -ENOSYS;
    }
    if (r < 0 && r > -4096) {
      if (!(op->flags & STEP_OPTIONAL)) child_fail(ctx, (int32_t)i, (int32_t)-r);
    }
    results[i] = r;
  }
  child_fail(ctx, (int32_t)ctx->nops, 0);
}

/*
 * Clones a child that runs `ops` and returns 0 with out = {pid, pidfd, err_fd}, or
 * -errno when the clone itself failed. relocs lists offsets in `data` holding
 * blob-relative pointers, turned into absolute ones here before the clone.
 * mode 0 (vfork): CLONE_VM|CLONE_VFORK on a private stack, the parent waits until the
 * child has exec'd or failed. mode 1 (fork): clone3, a copy-on-write child, needed for
 * OP_REAPER, OP_WAIT_BYTE and CLONE_INTO_CGROUP (cgroup_fd >= 0).
 */
int forge_spawn(const uint8_t *ops, uint32_t nops, uint8_t *data, uint64_t data_len,
                const uint64_t *relocs, uint32_t nrelocs, uint64_t flags, int32_t mode,
                int32_t cgroup_fd, int32_t *out) {
  if (nops > MAX_OPS) return -E2BIG;
  for (uint32_t i = 0; i < nrelocs; i++) {
    if (relocs[i] + 8 > data_len) return -EFAULT;
    uint64_t v;
    memcpy(&v, data + relocs[i], 8);
    v += (uint64_t)(uintptr_t)data;
    memcpy(data + relocs[i], &v, 8);
  }
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0) return -errno;
  struct child_ctx ctx = {(const struct forge_op *)ops, nops, data, errp[1], mode};

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  long pid;
  int saved = 0;
  if (mode == MODE_VFORK && cgroup_fd < 0) {
    void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
      pid = -1;
      saved = errno;
    } else {
      pid = clone(child_main, (char *)stack + CHILD_STACK,
                  (int)(flags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD), &ctx, &pidfd);
      saved = errno;
      munmap(stack, CHILD_STACK);
    }
  } else {
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = flags | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) {
      ca.flags |= CLONE_INTO_CGROUP;
      ca.cgroup = (uint64_t)cgroup_fd;
    }
    ctx.mode = MODE_FORK;
    pid = syscall(SYS_clone3, &ca, sizeof ca);
    saved = errno;
    if (pid == 0) child_main(&ctx);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(errp[1]);
  if (pid < 0) {
    close(errp[0]);
    return -saved;
  }
  out[0] = (int32_t)pid;
  out[1] = pidfd;
  out[2] = errp[0];
  return 0;
}

/* ---- exit watcher: one thread reaps every spawned child through its pidfd ---- */

static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static int watch_ep = -1, watch_r = -1, watch_w = -1;

static void *watch_main(void *unused) {
  (void)unused;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, NULL);
  for (;;) {
    struct epoll_event evs[32];
    int n = epoll_wait(watch_ep, evs, 32, -1);
    for (int i = 0; i < n; i++) {
      int fd = (int)(evs[i].data.u64 & 0xffffffffu);
      int32_t token = (int32_t)(evs[i].data.u64 >> 32);
      siginfo_t si;
      memset(&si, 0, sizeof si);
      if (waitid((idtype_t)3 /* P_PIDFD */, (id_t)fd, &si, WEXITED) < 0) {
        si.si_code = -errno;
      }
      epoll_ctl(watch_ep, EPOLL_CTL_DEL, fd, NULL);
      int32_t rec[3] = {token, si.si_code, si.si_status};
      while (write(watch_w, rec, sizeof rec) < 0 && errno == EINTR) {
      }
    }
  }
  return NULL;
}

static void watch_init(void) {
  int p[2];
  watch_ep = epoll_create1(EPOLL_CLOEXEC);
  if (watch_ep < 0 || pipe2(p, O_CLOEXEC) < 0) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t t;
  if (pthread_create(&t, &attr, watch_main, NULL) != 0) {
    close(p[0]);
    close(p[1]);
    return;
  }
  watch_r = p[0];
  watch_w = p[1];
}

/* The read end of the pipe on which exits are reported as {token, si_code, si_status}. */
int forge_watch_fd(void) {
  pthread_once(&watch_once, watch_init);
  return watch_r;
}

/* Reports (and reaps) the exit of the process behind pidfd on the watch pipe. */
int forge_watch_add(int32_t pidfd, int32_t token) {
  if (forge_watch_fd() < 0) return -EAGAIN;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = ((uint64_t)(uint32_t)token << 32) | (uint32_t)pidfd;
  return epoll_ctl(watch_ep, EPOLL_CTL_ADD, pidfd, &ev) < 0 ? -errno : 0;
}
