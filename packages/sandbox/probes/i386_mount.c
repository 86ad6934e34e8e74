/* mount tmpfs through the i386 entry (int $0x80, nr 21). SAFE: refused or no i386 ABI. */
#include "compat.h"
#include <sys/mount.h>
static long attempt(void *a, struct res *r) {
  (void)a;
  struct stat st;
  const char *t = stat("/tmp", &st) == 0 ? "/tmp" : "/";
  char *src = low_str("forge-probe"), *tgt = low_str(t), *fs = low_str("tmpfs");
  if (!src || !tgt || !fs) { snprintf(r->note, sizeof r->note, "no memory below 4 GiB"); errno = ENOMEM; return -1; }
  long ret = int80(21, (long)src, (long)tgt, (long)fs, 0, 0);
  if (ret == 0) { snprintf(r->note, sizeof r->note, "mounted on %s", t); umount2(t, MNT_DETACH); }
  return ret;
}
int main(void) {
  struct res r = guarded(attempt, NULL);
  if (r.sig == SIGSEGV) SAFE("i386 ABI not available (SIGSEGV on int $0x80)");
  expect_refused("i386 mount(tmpfs)", &r);
}
