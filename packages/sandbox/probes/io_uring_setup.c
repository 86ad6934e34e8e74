/* io_uring performs file and network operations that seccomp never sees, and has been a
 * steady source of kernel LPEs (Docker's default profile denies it since 2023).
 * SAFE: io_uring_setup refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) {
  (void)a; (void)r;
  unsigned char params[120];
  memset(params, 0, sizeof params);
  return syscall(425 /* io_uring_setup */, 4, params);
}
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("io_uring_setup", &r); }
