/* process_vm_writev into pid 1 of the sandbox. The probe reads /proc/1/maps for a
 * writable address, reads 8 bytes with process_vm_readv and writes them back unchanged.
 * SAFE: both are refused (EPERM/ESRCH/ENOSYS or SIGSYS). */
#include "probe.h"
#include <sys/uio.h>
static long attempt(void *a, struct res *r) {
  (void)a;
  unsigned long addr = 0x10000; /* fallback: a permission failure comes before EFAULT */
  unsigned long found = init_writable_addr();
  if (found) addr = found;
  else snprintf(r->note, sizeof r->note, "/proc/1/maps: %s", ename(errno));
  char b[8];
  struct iovec lv = {b, sizeof b}, rv = {(void *)addr, sizeof b};
  long n = process_vm_readv(1, &lv, 1, &rv, 1, 0);
  if (n < 0) return -1;
  return process_vm_writev(1, &lv, 1, &rv, 1, 0);
}
int main(void) {
  if (getpid() == 1) SAFE("the probe itself is pid 1");
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 && (r.err == ESRCH)) SAFE("pid 1 not reachable (ESRCH)");
  if (r.ret < 0 && r.err == EFAULT) UNSAFE("process_vm_readv/writev to pid 1 passed the permission check (EFAULT on the address)");
  expect_refused("process_vm_writev to pid 1", &r);
}
