/* syscall(-1): not a system call, so the kernel answers ENOSYS; tracers rewrite a call's
 * number to -1 to skip it. A filter must give -1 its default action (libseccomp does so
 * on purpose), not treat it as a foreign architecture and kill the process. A correctness
 * probe, not an escape: SAFE when the call fails with an errno and the process lives on
 * (under a filter, the errno is the profile's default action's); UNSAFE when the call
 * kills the process or claims to succeed. Checked on the native entry and on int $0x80. */
#include "compat.h"
static long native(void *a, struct res *r) { (void)a; (void)r; return syscall(-1L, 0, 0, 0, 0, 0); }
static long via_int80(void *a, struct res *r) { (void)a; (void)r; return int80(-1L, 0, 0, 0, 0, 0); }
int main(void) {
  struct res n = guarded(native, NULL);
  if (n.note[0] && !n.sig) {
    /* No child to guard the call (the profile refuses pipe or fork): make it here; a
     * kill leaves no verdict, which the harness reports as an error, not as SAFE. */
    long r = syscall(-1L, 0, 0, 0, 0, 0);
    if (r >= 0) UNSAFE("syscall(-1) returned %ld (unguarded: %s)", r, n.note);
    SAFE("syscall(-1): %s, the process lives on (unguarded: %s)", ename(errno), n.note);
  }
  char first[320];
  snprintf(first, sizeof first, "%s", describe(&n));
  if (n.sig || n.ret >= 0) UNSAFE("syscall(-1): %s; expected a failure with an errno (default action)", first);
  struct res i = guarded(via_int80, NULL);
  if (i.sig == SIGSEGV) SAFE("syscall(-1): %s, process lives on (no i386 ABI)", first);
  if (i.sig || i.ret >= 0) UNSAFE("syscall(-1): %s; int $0x80 with eax -1: %s", first, describe(&i));
  SAFE("syscall(-1): %s; int $0x80 with eax -1: %s; the process lives on", first, describe(&i));
}
