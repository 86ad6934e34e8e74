/* open_by_handle_at ("shocker", 2014): with a handle to the filesystem root a process can
 * open any inode of a bind-mounted filesystem, bypassing the mount namespace. Needs
 * CAP_DAC_READ_SEARCH in the initial namespace. SAFE: refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) {
  (void)a;
  struct { struct file_handle fh; unsigned char data[128]; } h;
  h.fh.handle_bytes = 128;
  int mount_id;
  const char *p = arg("dir") ? arg("dir") : "/";
  if (name_to_handle_at(AT_FDCWD, p, &h.fh, &mount_id, 0) != 0) {
    snprintf(r->note, sizeof r->note, "name_to_handle_at %s: %s", p, ename(errno));
    /* try a forged handle for inode 2 (ext4 root) */
    h.fh.handle_bytes = 8;
    h.fh.handle_type = 1;
    unsigned int ino = 2, gen = 0;
    memcpy(h.fh.f_handle, &ino, 4);
    memcpy(h.fh.f_handle + 4, &gen, 4);
  }
  int mfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mfd < 0) mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC);
}
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("open_by_handle_at", &r); }
