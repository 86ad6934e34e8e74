/* Remounting the read-only bind of the probe directory read-write (MS_REMOUNT|MS_BIND
 * without MS_RDONLY) and creating a file in it. A bind made inside the sandbox's own user
 * namespace is not locked, so root in there can lift "ro" unless mount is denied.
 * SAFE: the remount or the write fails. */
#include "probe.h"
#include <sys/mount.h>
static long attempt(void *a, struct res *r) {
  const char *dir = a;
  long ret = mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL);
  if (ret != 0) { snprintf(r->note, sizeof r->note, "remount"); return -1; }
  char f[512];
  snprintf(f, sizeof f, "%s/.forge-remount-%d", dir, (int)getpid());
  int fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) { snprintf(r->note, sizeof r->note, "remounted, but create: %s", ename(errno)); return -1; }
  close(fd);
  unlink(f);
  snprintf(r->note, sizeof r->note, "created a file in the read-only bind %s", dir);
  return 0;
}
int main(void) {
  const char *dir = arg("dir");
  if (!dir) SAFE("harness passed no dir (not checked)");
  char f[512];
  snprintf(f, sizeof f, "%s/.forge-remount-pre-%d", dir, (int)getpid());
  int fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) { close(fd); unlink(f); UNSAFE("the probe directory %s is writable without any remount (not bound read-only)", dir); }
  struct res r = guarded(attempt, (void *)dir);
  if (r.ret < 0 && !r.sig && strncmp(r.note, "remounted", 9) == 0) SAFE("%s", describe(&r));
  expect_refused("remount the ro bind read-write", &r);
}
