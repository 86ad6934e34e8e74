/*
 * glibc_baseline.h: force-included (cc -include) by scripts/build_native.mjs when it
 * builds libforge_spawn.so, so that the library runs on old glibc too, whatever glibc
 * the build machine has. It changes no logic: it only chooses which version of a libc
 * symbol the library binds to.
 *
 * Built against glibc 2.34+ the library would need GLIBC_2.34 (pthread_create,
 * pthread_once, pthread_attr_setstacksize moved from libpthread into libc with a new
 * version), GLIBC_2.33 (stat became a real function), GLIBC_2.32 (pthread_sigmask)
 * and, on x86_64, GLIBC_2.14 (memcpy). Each of those libcs still exports the original
 * version of each symbol (the same code), so we bind to that one, and stat() becomes
 * the newfstatat system call, which is what glibc's stat is on x86_64 and aarch64
 * (the kernel's struct stat is glibc's there). The result needs glibc >= 2.17 on both
 * architectures (scripts/elf_check.mjs checks it after every build). With a libc other
 * than glibc (musl) this header does nothing.
 */
#ifndef FORGE_GLIBC_BASELINE_H
#define FORGE_GLIBC_BASELINE_H

#include <features.h>

#if defined(__GLIBC__)
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FORGE_GLIBC_BASE "GLIBC_2.2.5"
__asm__(".symver memcpy, memcpy@GLIBC_2.2.5");
#elif defined(__aarch64__)
#define FORGE_GLIBC_BASE "GLIBC_2.17"
#else
#error "the Forge trampoline supports x86_64 and aarch64"
#endif

__asm__(".symver pthread_create, pthread_create@" FORGE_GLIBC_BASE);
__asm__(".symver pthread_once, pthread_once@" FORGE_GLIBC_BASE);
__asm__(".symver pthread_attr_setstacksize, pthread_attr_setstacksize@" FORGE_GLIBC_BASE);
__asm__(".symver pthread_sigmask, pthread_sigmask@" FORGE_GLIBC_BASE);

static inline int forge_baseline_stat(const char *path, struct stat *st) {
  return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, 0);
}
/* A function-like macro: `struct stat` is left alone, calls `stat(...)` are redirected. */
#define stat(path, st) forge_baseline_stat(path, st)
#endif

#endif
