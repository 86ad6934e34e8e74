/* keyctl(KEYCTL_GET_KEYRING_ID, session) through the i386 entry (nr 288): a filter that
 * denies keyctl for x86_64 only misses it. SAFE: refused or no i386 ABI. */
#include "compat.h"
static long attempt(void *a, struct res *r) { (void)a; (void)r; return int80(288, 0 /* GET_KEYRING_ID */, -3 /* SESSION */, 0, 0, 0); }
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.sig == SIGSEGV) SAFE("i386 ABI not available (SIGSEGV on int $0x80)");
  expect_refused("i386 keyctl", &r);
}
