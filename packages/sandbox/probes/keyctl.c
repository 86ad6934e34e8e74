/* keyctl / add_key: kernel keyrings are not namespaced (Docker denies keyctl, add_key,
 * request_key). SAFE: keyctl(KEYCTL_GET_KEYRING_ID) and add_key both refused. */
#include "probe.h"
static long k1(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* SESSION */, 0); }
static long k2(void *a, struct res *r) { (void)a; (void)r; return syscall(SYS_add_key, "user", "forge-probe", "x", 1, -3); }
int main(void) {
  struct res a = guarded(k1, NULL), b = guarded(k2, NULL);
  char da[300];
  snprintf(da, sizeof da, "%s", describe(&a));
  if (refused(&a) && refused(&b)) SAFE("keyctl: %s; add_key: %s", da, describe(&b));
  UNSAFE("keyctl: %s; add_key: %s", da, describe(&b));
}
