/*
 * forge-init: the PID 1 of a Forge sandbox's pid namespace. The trampoline's reaper op
 * execs it (through an fd) right after it has cloned the payload, so that PID 1 has an
 * address space of its own instead of sharing Node's.
 *
 * argv: forge-init PAYLOAD_PID STATUS_FD
 * It forwards every signal to the payload, reaps orphans, writes the payload's raw
 * wait status to STATUS_FD (when >= 0) and exits with the payload's exit code, or
 * 128+N when signal N ended it. Signals arrive blocked (the mask survives execve) so
 * none is lost between the payload's start and the wait loop.
 *
 * Freestanding: no libc, raw syscalls only (built with -nostdlib -static).
 */
#include <asm/unistd.h>
#include <linux/prctl.h>
#include <linux/wait.h>
#include <signal.h>
#include <stdint.h>

#include "forge_raw.h"

#define sys forge_raw

static __attribute__((noreturn)) void die(int code) {
  for (;;) sys(__NR_exit_group, code, 0, 0, 0, 0, 0);
}

static long parse(const char *s) {
  long v = 0, sign = 1;
  if (*s == '-') {
    sign = -1;
    s++;
  }
  if (!*s) return -2;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -2;
    v = v * 10 + (*s - '0');
  }
  return sign * v;
}

/* The kernel's sigset for rt_sig*: 64 bits. */
static const uint64_t ALL = ~(uint64_t)0;

__attribute__((used)) void forge_init_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  if (argc != 3) die(127);
  long payload = parse(argv[1]);
  long status_fd = parse(argv[2]);
  if (payload <= 0 || status_fd < -1) die(127);

  sys(__NR_rt_sigprocmask, SIG_SETMASK, (long)&ALL, 0, 8, 0, 0);
  if (status_fd >= 0) {
    if (status_fd > 0) sys(__NR_close_range, 0, status_fd - 1, 0, 0, 0, 0);
    sys(__NR_close_range, status_fd + 1, ~0U, 0, 0, 0, 0);
  } else {
    sys(__NR_close_range, 0, ~0U, 0, 0, 0, 0);
  }
  /* Not dumpable: the payload cannot ptrace PID 1 or read its memory. */
  sys(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);
  /* PID 1 needs no capability to forward signals and reap (the payload has its ids):
   * drop them all, bounding set first (that needs CAP_SETPCAP), so that nothing in the
   * sandbox runs with the user namespace's full set. Best effort: outside a user
   * namespace, as an unprivileged caller, there is nothing to drop. */
  for (long cap = 0; cap < 64; cap++) sys(__NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0, 0);
  sys(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0);
  struct {
    uint32_t version;
    int pid;
  } hdr = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
  uint32_t none[6] = {0, 0, 0, 0, 0, 0};
  sys(__NR_capset, (long)&hdr, (long)none, 0, 0, 0, 0);

  for (;;) {
    unsigned char info[128];
    long sig = sys(__NR_rt_sigtimedwait, (long)&ALL, (long)info, 0, 8, 0, 0);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      sys(__NR_kill, payload, sig, 0, 0, 0, 0);
      continue;
    }
    for (;;) {
      int st = 0;
      long w = sys(__NR_wait4, -1, (long)&st, WNOHANG | __WALL, 0, 0, 0);
      if (w <= 0) break;
      if (w == payload) {
        if (status_fd >= 0) sys(__NR_write, status_fd, (long)&st, sizeof st, 0, 0, 0);
        die((st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f));
      }
    }
  }
}

#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n\txor %rbp, %rbp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall forge_init_main\n\thlt\n");
#elif defined(__aarch64__)
__asm__(".globl _start\n_start:\n\tmov x29, xzr\n\tmov x0, sp\n\tbl forge_init_main\n\tb .\n");
#endif
