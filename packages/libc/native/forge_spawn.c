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
 *
 * The child shares the parent's memory (CLONE_VM) unless asked for its own copy (a
 * child bound for a memory-limited cgroup: the OOM killer kills every process that
 * shares the victim's memory), and runs on a private region that holds its stacks and
 * a copy of the program, so it never reads memory that Node's garbage collector could
 * move. Its first act is to die with the parent, and to exit if the parent is gone. With CLONE_VFORK the parent sleeps until the
 * exec; without it (needed by the reaper and by steps that wait for the parent) the
 * region is unmapped by the exit watcher once the child has been reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forge_raw.h"

#define FORGE_ABI 7
#define MAX_OPS 2048
#define CLOSE_RANGE_CLOEXEC_FLAG 4
#define STACK_SIZE (128 * 1024)
#define GUARD 4096
/* A child's region: [guard][stack][guard][payload's stack][region node][program...].
 * The guard pages make a stack overflow fault instead of running into the mapping
 * below, or into the first stack, where the reaper's frames (the payload's context
 * and results) live. */
#define STACKS_LEN (2 * STACK_SIZE + 2 * GUARD)
#define MAX_CAPACITY ((uint64_t)64 << 20) /* room for a spare's program */

enum { OP_SYSCALL = 0, OP_WAIT_BYTE = 1, OP_REAPER = 2, OP_PARENT_ALIVE = 3 };
enum { ARG_IMM = 0, ARG_DATA = 1, ARG_RESULT = 2, ARG_MEM32 = 3, ARG_MEM64 = 4 };
enum { STEP_OPTIONAL = 1 };
/* mode bits: ASYNC (the parent goes on at once) and OWN_MEMORY (the child gets a copy
 * of our memory instead of sharing it: an OOM kill of a process that shares Node's
 * memory kills every process sharing it, Node included, so a child placed in a
 * memory-limited cgroup must never share it). */
enum { MODE_VFORK = 0, MODE_ASYNC = 1, MODE_OWN_MEMORY = 2 };

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
  int parent_pidfd;        /* a pidfd of the spawning process, for OP_PARENT_ALIVE */
  char *payload_stack_top; /* for OP_REAPER */
  uint32_t start;          /* first op to run */
  int64_t *results;        /* shared with the payload after OP_REAPER */
};

int forge_abi_version(void) { return FORGE_ABI; }

/* A pidfd of this process, opened once and inherited by every child (close-on-exec):
 * a child checks through it that the process that cloned it is still alive, since
 * PR_SET_PDEATHSIG only covers a parent that dies after the prctl, and getppid() says
 * nothing in a new pid namespace (it is 0 there). -1 where pidfd_open is missing. */
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static int self_pidfd = -1;
static void self_open(void) { self_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0); }
static int self_pidfd_get(void) {
  pthread_once(&self_once, self_open);
  return self_pidfd;
}

/* The child may share memory (and TLS) with Node's running threads: it makes raw
 * syscalls that write nothing but its stack. */
#define raw forge_raw

/* clone3 that runs fn(arg) on the stack given in ca and exits with its result in the
 * child; returns the child's pid (or -errno) in the parent. */
static long clone3_run(struct clone_args *ca, int (*fn)(void *), void *arg) {
#if defined(__x86_64__)
  long ret;
  register void *r12 __asm__("r12") = (void *)fn;
  register void *r13 __asm__("r13") = arg;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $60, %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "a"((long)SYS_clone3), "D"(ca), "S"(sizeof *ca), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x0 __asm__("x0") = (long)ca;
  register long x1 __asm__("x1") = sizeof *ca;
  register long x8 __asm__("x8") = SYS_clone3;
  register void *x19 __asm__("x19") = (void *)fn;
  register void *x20 __asm__("x20") = arg;
  __asm__ volatile(
      "svc #0\n\t"
      "cbnz x0, 1f\n\t"
      "mov x29, xzr\n\t"
      "mov x0, x20\n\t"
      "blr x19\n\t"
      "mov x8, #93\n\t"
      "svc #0\n\t"
      "1:\n\t"
      : "+r"(x0)
      : "r"(x1), "r"(x8), "r"(x19), "r"(x20)
      : "x30", "memory");
  return x0;
#endif
}

static __attribute__((noreturn)) void child_exit(int code) {
  for (;;) raw(SYS_exit_group, code, 0, 0, 0, 0, 0);
}

static __attribute__((noreturn)) void child_fail(const struct child_ctx *ctx, int32_t index, int32_t err) {
  int32_t rec[2] = {index, err};
  raw(SYS_write, ctx->err_w, (long)rec, sizeof rec, 0, 0, 0);
  child_exit(127);
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

/* Whether the process behind pidfd has exited (its pidfd polls readable then). */
static int parent_dead(int pidfd) {
  if (pidfd < 0) return 0;
  struct pollfd p = {pidfd, POLLIN, 0};
  struct timespec zero = {0, 0};
  return raw(SYS_ppoll, (long)&p, 1, (long)&zero, 0, 0, 0) > 0;
}

/* A child's first acts: die with the parent, and exit now if it is already gone (it
 * may have died between the clone and the prctl). Run again after any change of ids,
 * which clears the parent-death signal (the program has OP_PARENT_ALIVE for that). */
static void die_with_parent(int pidfd) {
  raw(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0);
  if (parent_dead(pidfd)) child_exit(127);
}

static void set_mask(int how, const sigset_t *set) { raw(SYS_rt_sigprocmask, how, (long)set, 0, _NSIG / 8, 0, 0); }

static int run_program(struct child_ctx *ctx);

static int payload_main(void *arg) {
  sigset_t none;
  sigemptyset(&none);
  set_mask(SIG_SETMASK, &none);
  return run_program(arg);
}

static char *utoa(char *end, long v) {
  int neg = v < 0;
  unsigned long u = neg ? (unsigned long)-v : (unsigned long)v;
  *--end = 0;
  do {
    *--end = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg) *--end = '-';
  return end;
}

/* OP_REAPER: clone the payload (it goes on with the next op, on its own stack in the
 * region) and exec forge-init through init_fd at once, to be PID 1 with an address
 * space of its own while the payload sets itself up. The payload reads `payload` and
 * the results array, which stay mapped in Node's memory until PID 1 has been reaped
 * (the region is freed then), and nothing writes to them once this process has exec'd. */
static long become_reaper(struct child_ctx *ctx, uint32_t index, int status_fd, int init_fd) {
  if (!(ctx->mode & MODE_ASYNC) || !ctx->payload_stack_top || init_fd < 0) return -EINVAL;
  /* Only as the PID 1 of a new pid namespace: its exit then kills and reaps the payload
   * before the region the payload runs on can be freed. */
  if (raw(SYS_getpid, 0, 0, 0, 0, 0, 0) != 1) return -EINVAL;
  sigset_t all;
  sigfillset(&all);
  /* Blocked before the payload exists and kept across the exec, so no SIGCHLD is lost. */
  set_mask(SIG_SETMASK, &all);
  struct child_ctx payload = *ctx;
  payload.start = index + 1;
  payload.payload_stack_top = NULL;
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_VM;
  ca.exit_signal = SIGCHLD;
  ca.stack = (uint64_t)(uintptr_t)(ctx->payload_stack_top - STACK_SIZE);
  ca.stack_size = STACK_SIZE;
  long pid = clone3_run(&ca, payload_main, &payload);
  if (pid < 0) {
    sigset_t none;
    sigemptyset(&none);
    set_mask(SIG_SETMASK, &none);
    return pid;
  }
  char pidbuf[24], fdbuf[24];
  char *argv[] = {"forge-init", utoa(pidbuf + sizeof pidbuf, pid), utoa(fdbuf + sizeof fdbuf, status_fd), NULL};
  char *envp[] = {NULL};
  /* The payload holds its own end of the error pipe until it execs (or fails and says
   * so); ours closes now, everything but the status pipe at the exec. */
  raw(SYS_close, ctx->err_w, 0, 0, 0, 0, 0);
  raw(SYS_close_range, 0, ~0U, CLOSE_RANGE_CLOEXEC_FLAG, 0, 0, 0);
  if (status_fd >= 0) raw(SYS_fcntl, status_fd, F_SETFD, 0, 0, 0, 0);
  long r = raw(SYS_execveat, init_fd, (long)"", (long)argv, (long)envp, AT_EMPTY_PATH, 0);
  /* forge-init could not start: say why on the status pipe (a value no wait status
   * takes), end the payload, and exit. */
  int32_t marker = (int32_t)(0xff000000u | (uint32_t)(-r & 0xffff));
  if (status_fd >= 0) raw(SYS_write, status_fd, (long)&marker, sizeof marker, 0, 0, 0);
  raw(SYS_kill, pid, SIGKILL, 0, 0, 0, 0);
  child_exit(127);
}

static int run_program(struct child_ctx *ctx) {
  int64_t *results = ctx->results;
  for (uint32_t i = ctx->start; i < ctx->nops; i++) {
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
        r = become_reaper(ctx, i, (int)a[0], (int)a[1]);
        break;
      case OP_PARENT_ALIVE:
        r = parent_dead(ctx->parent_pidfd) ? -ESRCH : 0;
        break;
      default:
        r = -ENOSYS;
    }
    if (r < 0 && r > -4096 && !(op->flags & STEP_OPTIONAL)) child_fail(ctx, (int32_t)i, (int32_t)-r);
    results[i] = r;
  }
  child_fail(ctx, (int32_t)ctx->nops, 0);
}

/* Node's handlers must never run in a child: every signal back to its default, then unblock. */
static void default_signals(void) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < _NSIG; s++) {
    if (s != SIGKILL && s != SIGSTOP) raw(SYS_rt_sigaction, s, (long)&dfl, 0, _NSIG / 8, 0, 0);
  }
  sigset_t none;
  sigemptyset(&none);
  set_mask(SIG_SETMASK, &none);
}

static int child_main(void *arg) {
  struct child_ctx *ctx = arg;
  die_with_parent(ctx->parent_pidfd);
  int64_t results[MAX_OPS];
  ctx->results = results;
  default_signals();
  return run_program(ctx);
}

/* ---- spares: children cloned (with their namespaces) before they are needed ----
 *
 * A spare shares the parent's fd table (CLONE_FILES) while it is parked on a futex in
 * its region, so that when it is released it sees the fds the parent has opened since.
 * Released, it takes a private copy of the table (unshare(CLONE_FILES)), which is what
 * a clone at that moment would have given it, says so, and runs its program. */

enum { SPARE_PARKED = 0, SPARE_RUN = 1 };

struct spare {
  uint32_t go;  /* SPARE_PARKED until forge_release */
  int32_t ack;  /* 0 until the child has its own fd table; then 1, or -errno */
  size_t capacity;
  int parent_pidfd;
  uint8_t *area; /* ops, then data */
  struct child_ctx ctx;
};

static int spare_main(void *arg) {
  struct spare *sp = arg;
  /* First: parked, it must not outlive the thread that made it (the program sets this
   * again after its id switch). */
  die_with_parent(sp->parent_pidfd);
  default_signals();
  while (__atomic_load_n(&sp->go, __ATOMIC_ACQUIRE) == SPARE_PARKED)
    raw(SYS_futex, (long)&sp->go, FUTEX_WAIT, SPARE_PARKED, 0, 0, 0);
  long r = raw(SYS_unshare, CLONE_FILES, 0, 0, 0, 0, 0);
  __atomic_store_n(&sp->ack, r < 0 ? (int32_t)r : 1, __ATOMIC_RELEASE);
  raw(SYS_futex, (long)&sp->ack, FUTEX_WAKE, 1, 0, 0, 0);
  if (r < 0) child_exit(127);
  int64_t results[MAX_OPS];
  sp->ctx.results = results;
  return run_program(&sp->ctx);
}

/* ---- regions: stacks and the program copy of children that outlive forge_spawn ---- */

/* Records kept per child, in lists keyed by its pidfd (regions, watch registrations). */
struct by_pidfd {
  struct by_pidfd *next;
  int pidfd;
};

/* Takes the record for pidfd off a list, or returns NULL. */
static struct by_pidfd *list_take(pthread_mutex_t *lock, struct by_pidfd **head, int pidfd) {
  pthread_mutex_lock(lock);
  for (struct by_pidfd **p = head; *p; p = &(*p)->next) {
    if ((*p)->pidfd == pidfd) {
      struct by_pidfd *r = *p;
      *p = r->next;
      pthread_mutex_unlock(lock);
      return r;
    }
  }
  pthread_mutex_unlock(lock);
  return NULL;
}

static void list_push(pthread_mutex_t *lock, struct by_pidfd **head, struct by_pidfd *r) {
  pthread_mutex_lock(lock);
  r->next = *head;
  *head = r;
  pthread_mutex_unlock(lock);
}

struct region {
  struct by_pidfd link; /* first: a region is a by_pidfd */
  void *base;
  size_t size;
};
static pthread_mutex_t regions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct by_pidfd *regions;

static void region_keep(int pidfd, void *base, size_t size, struct region *node) {
  node->link.pidfd = pidfd;
  node->base = base;
  node->size = size;
  list_push(&regions_lock, &regions, &node->link);
}

/* Takes the region of a reaped child off the list (called by the watcher thread, which
 * unmaps it with region_unmap). */
static struct region *region_detach(int pidfd) {
  return (struct region *)list_take(&regions_lock, &regions, pidfd);
}

static void region_unmap(struct region *r) {
  if (r) munmap(r->base, r->size);
}

/* How many child regions are still mapped (for tests: 0 once every child is reaped). */
int forge_live_regions(void) {
  int n = 0;
  pthread_mutex_lock(&regions_lock);
  for (struct by_pidfd *r = regions; r; r = r->next) n++;
  pthread_mutex_unlock(&regions_lock);
  return n;
}

/* Maps a child's region (stacks with guard pages, then `extra` bytes); NULL and errno
 * on failure. */
static uint8_t *region_map(size_t extra, size_t *size) {
  size_t page = 4096;
  *size = STACKS_LEN + ((extra + page - 1) & ~(page - 1));
  uint8_t *base = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) return NULL;
  if (mprotect(base, GUARD, PROT_NONE) < 0 || mprotect(base + GUARD + STACK_SIZE, GUARD, PROT_NONE) < 0) {
    int e = errno;
    munmap(base, *size);
    errno = e;
    return NULL;
  }
  return base;
}

/* Copies a program's ops and data and turns the data's blob-relative pointers into
 * addresses (the caller has checked the relocations against data_len). */
static void program_copy(uint8_t *ops_dst, uint8_t *data_dst, const uint8_t *ops, size_t ops_len,
                         const uint8_t *data, uint64_t data_len, const uint64_t *relocs, uint32_t nrelocs) {
  memcpy(ops_dst, ops, ops_len);
  memcpy(data_dst, data, data_len);
  for (uint32_t i = 0; i < nrelocs; i++) {
    uint64_t v;
    memcpy(&v, data_dst + relocs[i], 8);
    v += (uint64_t)(uintptr_t)data_dst;
    memcpy(data_dst + relocs[i], &v, 8);
  }
}

/* Clones fn(arg) on the region's first stack with all signals blocked around the
 * clone; returns the pid (or -errno), with *pidfd set. */
static long region_clone(uint8_t *base, uint64_t flags, int share_memory, int cgroup_fd, int (*fn)(void *),
                         void *arg, int *pidfd) {
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = flags | (share_memory ? CLONE_VM : 0) | CLONE_PIDFD;
  ca.pidfd = (uint64_t)(uintptr_t)pidfd;
  ca.exit_signal = SIGCHLD;
  ca.stack = (uint64_t)(uintptr_t)(base + GUARD);
  ca.stack_size = STACK_SIZE;
  if (cgroup_fd >= 0) {
    ca.flags |= CLONE_INTO_CGROUP;
    ca.cgroup = (uint64_t)cgroup_fd;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = clone3_run(&ca, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return pid;
}

/*
 * Clones a child that runs `ops` and returns 0 with out = {pid, pidfd, err_fd}, or
 * -errno when the clone itself failed. relocs lists offsets in `data` holding
 * blob-relative pointers. mode 0 (vfork): the parent sleeps until the child has exec'd
 * or failed. MODE_ASYNC: the parent goes on at once (needed by OP_REAPER and
 * OP_WAIT_BYTE); the caller must then register the pidfd with forge_watch_add so that
 * the child's region is freed when it is reaped. MODE_OWN_MEMORY: the child gets a
 * copy of our memory (a fork) instead of sharing it until exec. cgroup_fd >= 0 places
 * the child in that cgroup v2 directory (CLONE_INTO_CGROUP).
 */
int forge_spawn(const uint8_t *ops, uint32_t nops, const uint8_t *data, uint64_t data_len,
                const uint64_t *relocs, uint32_t nrelocs, uint64_t flags, int32_t mode,
                int32_t cgroup_fd, int32_t *out) {
  if (nops > MAX_OPS) return -E2BIG;
  if (data_len > MAX_CAPACITY) return -E2BIG;
  for (uint32_t i = 0; i < nrelocs; i++) {
    if (data_len < 8 || relocs[i] > data_len - 8) return -EFAULT;
  }
  size_t ops_len = (size_t)nops * sizeof(struct forge_op);
  size_t size;
  uint8_t *base = region_map(sizeof(struct region) + ops_len + data_len + sizeof(struct child_ctx) + 64, &size);
  if (!base) return -errno;
  /* [guard][stack][guard][payload stack][region node][ops][data] */
  struct region *node = (struct region *)(base + STACKS_LEN);
  uint8_t *ops_copy = (uint8_t *)(node + 1);
  ops_copy = (uint8_t *)(((uintptr_t)ops_copy + 15) & ~(uintptr_t)15);
  uint8_t *data_copy = (uint8_t *)(((uintptr_t)(ops_copy + ops_len) + 15) & ~(uintptr_t)15);
  program_copy(ops_copy, data_copy, ops, ops_len, data, data_len, relocs, nrelocs);

  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0) {
    int e = errno;
    munmap(base, size);
    return -e;
  }
  struct child_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.ops = (const struct forge_op *)ops_copy;
  ctx.nops = nops;
  ctx.data = data_copy;
  ctx.err_w = errp[1];
  ctx.mode = mode & (MODE_ASYNC | MODE_OWN_MEMORY);
  ctx.parent_pidfd = self_pidfd_get();
  ctx.payload_stack_top = (char *)base + STACKS_LEN;
  struct child_ctx *shared_ctx = &ctx;
  if (ctx.mode & MODE_ASYNC) {
    /* The child outlives this frame: give it a copy of the context in its region. */
    shared_ctx = (struct child_ctx *)(data_copy + ((data_len + 15) & ~15ULL));
    *shared_ctx = ctx;
  }

  int pidfd = -1;
  long pid = region_clone(base, flags | (ctx.mode & MODE_ASYNC ? 0 : CLONE_VFORK), !(ctx.mode & MODE_OWN_MEMORY),
                          cgroup_fd, child_main, shared_ctx, &pidfd);
  close(errp[1]);
  if (pid < 0) {
    close(errp[0]);
    munmap(base, size);
    return (int)pid;
  }
  if (!(ctx.mode & MODE_ASYNC)) munmap(base, size);
  else region_keep(pidfd, base, size, node);
  out[0] = (int32_t)pid;
  out[1] = pidfd;
  out[2] = errp[0];
  return 0;
}

/* Appends a file's text (up to the room left) and a NUL to buf; returns the new length. */
static size_t append_file(uint8_t *buf, size_t len, size_t cap, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    for (;;) {
      if (len + 1 >= cap) break;
      ssize_t n = read(fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      len += (size_t)n;
    }
    close(fd);
  }
  if (len < cap) buf[len++] = 0;
  return len;
}

/* What a child cloned now by this thread inherits, as far as it can be read: this
 * thread's status (ids, groups, capabilities, no_new_privs, seccomp, umask), the
 * process's limits and cgroups, the working directory's device and inode, and the
 * thread's namespaces, as "status\0limits\0cgroup\0dev:ino\0namespaces\0".
 * JavaScript compares it with the caller's (and watches the mount table itself). */
static const char *const STATE_FIELDS[] = {"Umask:", "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:",
                                             "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:",
                                             "Seccomp_filters:", NULL};

/* Keeps, of the status text in buf[from, len), only the lines STATE_FIELDS name (the
 * rest, such as context switch counts, changes all the time); returns the new length. */
static size_t keep_state_lines(uint8_t *buf, size_t from, size_t len) {
  size_t out = from;
  for (size_t i = from; i < len;) {
    size_t end = i;
    while (end < len && buf[end] != '\n' && buf[end] != 0) end++;
    int keep = 0;
    for (const char *const *f = STATE_FIELDS; *f; f++) {
      size_t n = strlen(*f);
      if (end - i >= n && memcmp(buf + i, *f, n) == 0) keep = 1;
    }
    if (keep) {
      memmove(buf + out, buf + i, end - i);
      out += end - i;
      buf[out++] = '\n';
    }
    i = end + 1;
  }
  return out;
}

static size_t inherited_state(uint8_t *buf, size_t cap) {
  size_t len = 0;
  len = append_file(buf, len, cap, "/proc/thread-self/status");
  if (len > 0) len = keep_state_lines(buf, 0, len - 1); /* without its NUL */
  if (len < cap) buf[len++] = 0;
  len = append_file(buf, len, cap, "/proc/self/limits");
  len = append_file(buf, len, cap, "/proc/self/cgroup");
  struct stat st;
  char cwd[64] = "";
  /* Signed, as Node's bigint stat gives them (the JavaScript side formats them so). */
  if (stat(".", &st) == 0) snprintf(cwd, sizeof cwd, "%lld:%lld", (long long)st.st_dev, (long long)st.st_ino);
  size_t n = strlen(cwd);
  if (len + n + 1 <= cap) {
    memcpy(buf + len, cwd, n + 1);
    len += n + 1;
  }
  /* The thread's namespaces (a thread can setns or unshare on its own). */
  static const char *const NS[] = {"net", "uts", "ipc", "mnt", "cgroup", "pid_for_children",
                                   "time_for_children", "user", NULL};
  for (const char *const *ns = NS; *ns; ns++) {
    char path[64] = "/proc/thread-self/ns/";
    strncat(path, *ns, sizeof path - strlen(path) - 1);
    char link[64];
    ssize_t k = readlink(path, link, sizeof link - 1);
    if (k < 0) k = 0;
    if (len + (size_t)k + 1 < cap) {
      memcpy(buf + len, link, (size_t)k);
      len += (size_t)k;
      buf[len++] = '\n';
    }
  }
  if (len < cap) buf[len++] = 0;
  return len;
}

/*
 * Clones a spare with these namespace flags; it waits, parked, for forge_release.
 * Returns 0 with out = {pid, pidfd, state length, changed} and *handle set, or -errno.
 * `state` receives what the spare inherited (see inherited_state); changed is 1 when
 * that moved while it was being cloned (another thread changed the process: do not
 * use it). `capacity` bytes of the region hold the program later. The caller registers
 * the pidfd with forge_watch_add once the spare is released or killed, which frees the
 * region when it is reaped.
 */
int forge_prestart(uint64_t flags, uint64_t capacity, int32_t *out, uint64_t *handle, uint8_t *state,
                   uint32_t state_cap) {
  if (capacity < 4096 || capacity > MAX_CAPACITY || state_cap < 64) return -EINVAL;
  size_t state_len = inherited_state(state, state_cap);
  size_t size;
  uint8_t *base = region_map(sizeof(struct region) + sizeof(struct spare) + 64 + capacity, &size);
  if (!base) return -errno;
  struct region *node = (struct region *)(base + STACKS_LEN);
  struct spare *sp = (struct spare *)(((uintptr_t)(node + 1) + 15) & ~(uintptr_t)15);
  memset(sp, 0, sizeof *sp);
  sp->capacity = capacity;
  sp->parent_pidfd = self_pidfd_get();
  sp->area = (uint8_t *)(((uintptr_t)(sp + 1) + 15) & ~(uintptr_t)15);

  int pidfd = -1;
  long pid = region_clone(base, flags | CLONE_FILES, 1, -1, spare_main, sp, &pidfd);
  if (pid < 0) {
    munmap(base, size);
    return (int)pid;
  }
  region_keep(pidfd, base, size, node);
  /* Read again: equal unless another thread changed the process meanwhile. */
  uint8_t *again = malloc(state_cap);
  int changed = 1;
  if (again) {
    size_t n = inherited_state(again, state_cap);
    changed = n != state_len || memcmp(again, state, n) != 0;
    free(again);
  }
  out[0] = (int32_t)pid;
  out[1] = pidfd;
  out[2] = (int32_t)state_len;
  out[3] = changed;
  *handle = (uint64_t)(uintptr_t)base;
  return 0;
}

static struct spare *spare_of(uint64_t handle, int32_t pidfd) {
  uint8_t *base = (uint8_t *)(uintptr_t)handle;
  struct spare *sp = NULL;
  pthread_mutex_lock(&regions_lock);
  for (struct by_pidfd *l = regions; l; l = l->next) {
    struct region *r = (struct region *)l;
    if (r->base == base && l->pidfd == pidfd) {
      sp = (struct spare *)(((uintptr_t)(r + 1) + 15) & ~(uintptr_t)15);
      break;
    }
  }
  pthread_mutex_unlock(&regions_lock);
  return sp;
}

/*
 * Gives a parked spare its program (as forge_spawn takes it, always in async mode) and
 * lets it go, without waiting: out[0] is the error pipe's read end. The caller must
 * call forge_release_wait before it closes any fd the program uses (until then the
 * child shares our fd table). -E2BIG if the program does not fit, -EINVAL for an
 * unknown or already released spare, -ESRCH if it has died; the spare is untouched
 * then. The region stays mapped until the child is reaped: register it with
 * forge_watch_add only after forge_release_wait (or after killing it).
 */
int forge_release(uint64_t handle, int32_t pidfd, const uint8_t *ops, uint32_t nops, const uint8_t *data,
                  uint64_t data_len, const uint64_t *relocs, uint32_t nrelocs, int32_t *out) {
  struct spare *sp = spare_of(handle, pidfd);
  if (!sp || __atomic_load_n(&sp->go, __ATOMIC_ACQUIRE) != SPARE_PARKED) return -EINVAL;
  struct pollfd dead = {pidfd, POLLIN, 0};
  if (poll(&dead, 1, 0) == 1) return -ESRCH; /* killed while parked */
  uint8_t *base = (uint8_t *)(uintptr_t)handle;
  if (nops > MAX_OPS) return -E2BIG;
  size_t ops_len = (size_t)nops * sizeof(struct forge_op);
  size_t data_off = (ops_len + 15) & ~(size_t)15;
  if (data_len > sp->capacity || data_off > sp->capacity - data_len) return -E2BIG;
  for (uint32_t i = 0; i < nrelocs; i++) {
    if (data_len < 8 || relocs[i] > data_len - 8) return -EFAULT;
  }
  uint8_t *data_copy = sp->area + data_off;
  program_copy(sp->area, data_copy, ops, ops_len, data, data_len, relocs, nrelocs);
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0) return -errno;
  memset(&sp->ctx, 0, sizeof sp->ctx);
  sp->ctx.ops = (const struct forge_op *)sp->area;
  sp->ctx.nops = nops;
  sp->ctx.data = data_copy;
  sp->ctx.err_w = errp[1];
  sp->ctx.mode = MODE_ASYNC;
  sp->ctx.parent_pidfd = sp->parent_pidfd;
  sp->ctx.payload_stack_top = (char *)base + STACKS_LEN;
  __atomic_store_n(&sp->go, SPARE_RUN, __ATOMIC_RELEASE);
  syscall(SYS_futex, &sp->go, FUTEX_WAKE, 1, NULL, NULL, 0);
  out[0] = errp[0];
  return 0;
}

/*
 * Waits until a released spare has its own copy of the fd table, then closes our end
 * of its error pipe (before that, closing it would close the child's too). Returns 0,
 * -ESRCH if the spare died before it took its table (it ran no step; the error pipe
 * then reads EOF), -ETIMEDOUT if it did not answer in 2 s (our end stays open: kill
 * the spare, then close it), or -errno of its unshare.
 */
int forge_release_wait(uint64_t handle, int32_t pidfd) {
  struct spare *sp = spare_of(handle, pidfd);
  if (!sp || __atomic_load_n(&sp->go, __ATOMIC_ACQUIRE) != SPARE_RUN) return -EINVAL;
  /* A spare that does not answer within 2 s (stopped, say) is given up: -ETIMEDOUT,
   * and the caller kills it. Until it answers, our end of the pipe stays open. */
  for (int waited = 0;; waited++) {
    if (waited >= 1000) return -ETIMEDOUT;
    int32_t ack = __atomic_load_n(&sp->ack, __ATOMIC_ACQUIRE);
    if (ack != 0) {
      close(sp->ctx.err_w);
      return ack < 0 ? ack : 0;
    }
    struct timespec ts = {0, 2 * 1000 * 1000};
    syscall(SYS_futex, &sp->ack, FUTEX_WAIT, 0, &ts, NULL, 0);
    /* Dead first, then no answer: a spare that answered and then died ran steps. */
    struct pollfd p = {pidfd, POLLIN, 0};
    if (poll(&p, 1, 0) == 1 && __atomic_load_n(&sp->ack, __ATOMIC_ACQUIRE) == 0) {
      close(sp->ctx.err_w);
      return -ESRCH;
    }
  }
}

/* ---- exit watcher: one thread reaps every spawned child through its pidfd ----
 *
 * Each JavaScript isolate (the main thread, each Worker) opens a channel, a pipe of
 * its own, and registers its children with it: an exit is reported only to the
 * isolate that spawned the child. A Worker reads its channel as a stream; the main
 * thread (FORGE_WATCH_SIGNAL) drains its non-blocking channel when SIGCHLD arrives,
 * which the watcher raises after each report, so that it needs no stream at all. */

#define FORGE_WATCH_SIGNAL 1
/* The process is not our child (the parent of this process, for die-with-parent):
 * report when it has exited, without reaping it, and leave the pidfd to the caller. */
#define FORGE_WATCH_NOWAIT 2

static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static int watch_ep = -1;

struct watch_reg {
  struct by_pidfd link; /* first: a registration is a by_pidfd */
  int32_t token;
  int chan; /* the write end of the isolate's pipe, or -1: report nothing, close the pidfd */
  int signal; /* raise SIGCHLD after the report (FORGE_WATCH_SIGNAL) */
  int nowait; /* FORGE_WATCH_NOWAIT */
};
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct by_pidfd *watch_regs;

static struct watch_reg *watch_take(int pidfd) {
  return (struct watch_reg *)list_take(&watch_lock, &watch_regs, pidfd);
}

static void *watch_main(void *unused) {
  (void)unused;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, NULL);
  for (;;) {
    struct epoll_event evs[32];
    int n = epoll_wait(watch_ep, evs, 32, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      struct watch_reg *reg = watch_take(fd);
      if (!reg) continue; /* removed meanwhile (forge_watch_remove) */
      siginfo_t si;
      memset(&si, 0, sizeof si);
      if (!reg->nowait && waitid((idtype_t)3 /* P_PIDFD */, (id_t)fd, &si, WEXITED) < 0) {
        si.si_code = -errno;
      }
      epoll_ctl(watch_ep, EPOLL_CTL_DEL, fd, NULL);
      /* Off the list before the report (after it, JavaScript may close the pidfd and
       * the number may name another child's), unmapped after it, so as not to delay it. */
      struct region *r = region_detach(fd);
      if (reg && reg->chan >= 0) {
        int32_t rec[3] = {reg->token, si.si_code, si.si_status};
        /* EPIPE when the isolate has gone (SIGPIPE is blocked here): nobody to tell. */
        ssize_t w;
        while ((w = write(reg->chan, rec, sizeof rec)) < 0 && errno == EINTR) {
        }
        /* The kernel's own SIGCHLD may have come before this report: one more after it. */
        if (w > 0 && reg->signal) kill(getpid(), SIGCHLD);
      } else if (reg) {
        close(fd); /* a discarded child: its pidfd is ours now */
      }
      free(reg);
      region_unmap(r);
    }
  }
  return NULL;
}

static void watch_init(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  watch_ep = ep;
  pthread_t t;
  if (pthread_create(&t, &attr, watch_main, NULL) != 0) {
    close(ep);
    watch_ep = -1;
  }
}

/* Opens an isolate's channel: out = {read end, write end} of a pipe on which exits
 * are reported as {token, si_code, si_status}. FORGE_WATCH_SIGNAL: the read end is
 * non-blocking (it is drained on SIGCHLD). */
int forge_watch_open(int32_t *out, int32_t flags) {
  pthread_once(&watch_once, watch_init);
  if (watch_ep < 0) return -EAGAIN;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  if ((flags & FORGE_WATCH_SIGNAL) && fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return -e;
  }
  out[0] = p[0];
  out[1] = p[1];
  return 0;
}

int forge_watch_add(int32_t pidfd, int32_t token, int32_t chan, int32_t flags);

/* Reaps the process behind pidfd when it ends and closes the pidfd, reporting nothing
 * (for a child nobody waits for, even after the isolate that made it has gone). */
int forge_watch_discard(int32_t pidfd) {
  return forge_watch_add(pidfd, 0, -1, 0);
}

/* Reports (and reaps) the exit of the process behind pidfd on the channel `chan`;
 * FORGE_WATCH_SIGNAL: then raises SIGCHLD in this process. */
int forge_watch_add(int32_t pidfd, int32_t token, int32_t chan, int32_t flags) {
  pthread_once(&watch_once, watch_init);
  if (watch_ep < 0) return -EAGAIN;
  struct watch_reg *reg = malloc(sizeof *reg);
  if (!reg) return -ENOMEM;
  reg->link.pidfd = pidfd;
  reg->token = token;
  reg->chan = chan;
  reg->signal = (flags & FORGE_WATCH_SIGNAL) != 0;
  reg->nowait = (flags & FORGE_WATCH_NOWAIT) != 0;
  list_push(&watch_lock, &watch_regs, &reg->link);
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.fd = pidfd;
  if (epoll_ctl(watch_ep, EPOLL_CTL_ADD, pidfd, &ev) < 0) {
    int e = errno;
    free(watch_take(pidfd));
    return -e;
  }
  return 0;
}

/* Stops watching pidfd (registered with FORGE_WATCH_NOWAIT) without a report; the
 * caller keeps the pidfd. -ENOENT if it was not watched (or has been reported). */
int forge_watch_remove(int32_t pidfd) {
  struct watch_reg *reg = watch_take(pidfd);
  if (!reg) return -ENOENT;
  epoll_ctl(watch_ep, EPOLL_CTL_DEL, pidfd, NULL);
  free(reg);
  return 0;
}
