/* kexec_load / kexec_file_load replace the running kernel. SAFE: both refused. */
#include "probe.h"
static long k1(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_kexec_load, 0, 0, NULL, 0); }
static long k2(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_kexec_file_load, -1, -1, 0, "", 0); }
int main(void) {
  struct res a = guarded(k1, NULL), b = guarded(k2, NULL);
  char da[300];
  snprintf(da, sizeof da, "%s", describe(&a));
  if (refused(&a) && refused(&b)) SAFE("kexec_load: %s; kexec_file_load: %s", da, describe(&b));
  UNSAFE("kexec_load: %s; kexec_file_load: %s", da, describe(&b));
}
