/* init_module / finit_module load kernel code. SAFE: both refused. */
#include "probe.h"
static long k1(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_init_module, NULL, 0, ""); }
static long k2(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_finit_module, -1, "", 0); }
int main(void) {
  struct res a = guarded(k1, NULL), b = guarded(k2, NULL);
  char da[300];
  snprintf(da, sizeof da, "%s", describe(&a));
  if (refused(&a) && refused(&b)) SAFE("init_module: %s; finit_module: %s", da, describe(&b));
  UNSAFE("init_module: %s; finit_module: %s", da, describe(&b));
}
