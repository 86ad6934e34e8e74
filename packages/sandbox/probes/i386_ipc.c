/* shmget through the i386 ipc multiplexer (int $0x80, nr 117, SHMGET): the sub-call is
 * arg0 and the real arguments shift by one, so per-call rules (on shmget, msgget,
 * msgsnd..., the usual kernel heap-spray primitives) never see it. Direct SysV IPC calls
 * exist on i386 since Linux 5.1, so a profile can refuse the multiplexer (ENOSYS makes
 * libc use them). SAFE: refused (EPERM/ENOSYS/SIGSYS) or no i386 ABI (SIGSEGV).
 * UNSAFE: the multiplexer created a segment (removed again). */
#include "i386.h"
#include <sys/ipc.h>
#include <sys/shm.h>
static long attempt(void *a, struct res *r) {
  (void)a;
  long id = int80(I386_IPC, IPCOP_SHMGET, IPC_PRIVATE, 4096, IPC_CREAT | 0600, 0);
  if (id >= 0) {
    int rm = shmctl((int)id, IPC_RMID, NULL);
    snprintf(r->note, sizeof r->note, "segment %ld %s", id, rm == 0 ? "removed" : "NOT removed");
  }
  return id;
}
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.sig == SIGSEGV) SAFE("i386 ABI not available (SIGSEGV on int $0x80)");
  if (refused(&r)) SAFE("i386 ipc(SHMGET): %s", describe(&r));
  UNSAFE("i386 ipc(SHMGET): %s; the ipc multiplexer's sub-calls bypass per-call rules", describe(&r));
}
