/* The i386 multiplexers socketcall (nr 102) and ipc (nr 117), called with int $0x80
 * from a 64-bit probe. socketcall's arguments are an array in memory, which a seccomp
 * filter cannot read; ipc's sub-call is arg0 and its arguments shift by one. Either way
 * the per-call rules of a profile (socket families, shmget...) do not apply to them. */
#ifndef FORGE_I386_H
#define FORGE_I386_H
#include "compat.h"
#include <sys/socket.h>
#define I386_SOCKETCALL 102
#define I386_IPC 117
#define SYS_SOCKET_CALL 1 /* socketcall's SYS_SOCKET */
#define IPCOP_SHMGET 23

/* socketcall(call, [a0, a1, a2]) through int $0x80 (the array is 32-bit words below 4 GiB). */
static __attribute__((unused)) long i386_socketcall(int call, unsigned a0, unsigned a1, unsigned a2) {
  unsigned int *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (args == MAP_FAILED) return -1;
  args[0] = a0;
  args[1] = a1;
  args[2] = a2;
  return int80(I386_SOCKETCALL, call, (long)(uintptr_t)args, 0, 0, 0);
}

/* The family of socket fd as the kernel sees it (SO_DOMAIN), or -1. */
static __attribute__((unused)) int socket_domain(int fd) {
  int d = -1;
  socklen_t n = sizeof d;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &n) != 0) return -1;
  return d;
}
#endif
