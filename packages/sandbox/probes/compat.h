/* i386 (int $0x80) and x32 (nr | 0x40000000) system calls from a 64-bit probe. A seccomp
 * filter that checks only x86_64 numbers, or forgets the arch / x32 bit, lets these
 * through. x86_64 only. */
#ifndef FORGE_COMPAT_H
#define FORGE_COMPAT_H
#include "probe.h"
#if !defined(__x86_64__)
#define COMPAT_UNSUPPORTED 1
#endif
#define X32_BIT 0x40000000L

/* int $0x80 with up to five arguments (ebx, ecx, edx, esi, edi); pointers must be < 4 GiB. */
static __attribute__((unused)) long int80(long nr, long a, long b, long c, long d, long e) {
#ifdef __x86_64__
  long ret;
  __asm__ volatile("int $0x80"
                   : "=a"(ret)
                   : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                   : "memory", "r8", "r9", "r10", "r11", "cc");
  int r32 = (int)ret;
  if (r32 < 0 && r32 > -4096) { errno = -r32; return -1; }
  return r32;
#else
  (void)nr; (void)a; (void)b; (void)c; (void)d; (void)e;
  errno = ENOSYS;
  return -1;
#endif
}

/* A copy of s in memory below 4 GiB (for i386 pointer arguments). */
static __attribute__((unused)) char *low_str(const char *s) {
  static char *arena;
  static size_t used;
  if (!arena) {
    arena = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (arena == MAP_FAILED) { arena = NULL; return NULL; }
  }
  size_t n = strlen(s) + 1;
  if (used + n > 4096) return NULL;
  memcpy(arena + used, s, n);
  used += n;
  return arena + used - n;
}
#endif
