/* Classic chroot escape: chroot into a subdirectory while the cwd stays outside, walk
 * ".." 64 times, chroot("."). With pivot_root and the old root detached this ends at the
 * sandbox's own root; with a chroot-only sandbox it ends at the host's root.
 * The harness passes hostroot=<dev>:<ino> of the host's "/".
 * SAFE: chroot refused, or the walk does not reach the host root. */
#include "probe.h"
static long attempt(void *a, struct res *r) {
  (void)a;
  const char *sub[] = {"/proc", "/dev", "/usr", "/tmp"};
  int i;
  for (i = 0; i < 4; i++) if (chroot(sub[i]) == 0) break; else if (errno == EPERM || errno == ENOSYS) return -1;
  if (i == 4) return -1;
  for (int k = 0; k < 64; k++) if (chdir("..") != 0) break;
  if (chroot(".") != 0) { snprintf(r->note, sizeof r->note, "second chroot"); return -1; }
  struct stat st;
  if (stat("/", &st) != 0) return -1;
  snprintf(r->note, sizeof r->note, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
  return 0;
}
int main(void) {
  const char *hr = arg("hostroot");
  struct stat st0;
  stat("/", &st0);
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 || r.sig) {
    if (refused(&r)) SAFE("chroot refused: %s", describe(&r));
    SAFE("chroot walk failed: %s", describe(&r));
  }
  char start[64];
  snprintf(start, sizeof start, "%lu:%lu", (unsigned long)st0.st_dev, (unsigned long)st0.st_ino);
  if (hr && strcmp(r.note, hr) == 0)
    UNSAFE("chroot walk reached the host root %s (sandbox root was %s)", hr, start);
  if (!hr) SAFE("walk ended at %s (no hostroot from harness to compare)", r.note);
  SAFE("chroot allowed but the walk ended at %s, not the host root %s", r.note, hr);
}
