/* mknod of device nodes (/dev/mem 1:1 and a disk 8:0) in a writable directory: a device
 * node gives raw access to host memory or disks. SAFE: refused everywhere (EPERM), or no
 * writable place exists (EROFS/EACCES). */
#include "probe.h"
#include <sys/sysmacros.h>
int main(void) {
  const char *dir = scratch_dir();
  if (!dir) SAFE("no writable directory for mknod (%s)", ename(errno));
  char p[512], notes[200] = "";
  struct { int maj, min; const char *nm; } devs[] = {{1, 1, "mem"}, {8, 0, "sda"}};
  for (int i = 0; i < 2; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, devs[i].nm);
    int r = mknod(p, (i ? S_IFBLK : S_IFCHR) | 0600, makedev(devs[i].maj, devs[i].min));
    if (r == 0) {
      int fd = open(p, O_RDONLY | O_CLOEXEC);
      int e = errno;
      unlink(p);
      if (fd >= 0) { rmdir(dir); UNSAFE("created and opened device %d:%d (%s)", devs[i].maj, devs[i].min, devs[i].nm); }
      size_t k = strlen(notes);
      snprintf(notes + k, sizeof notes - k, "%s: created, open %s; ", devs[i].nm, ename(e));
      if (e != EACCES && e != EPERM) { rmdir(dir); UNSAFE("created device node %s (open: %s)", devs[i].nm, ename(e)); }
    } else {
      size_t k = strlen(notes);
      snprintf(notes + k, sizeof notes - k, "%s: %s; ", devs[i].nm, ename(errno));
    }
  }
  rmdir(dir);
  SAFE("device nodes refused: %s", notes);
}
