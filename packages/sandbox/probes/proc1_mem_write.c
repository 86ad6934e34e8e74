/* Opening /proc/1/mem for writing and writing 8 bytes back unchanged at a writable
 * address of pid 1 (the sandbox's init). SAFE: open or write refused. */
#include "probe.h"
static long attempt(void *a, struct res *r) {
  (void)a;
  int fd = open("/proc/1/mem", O_RDWR | O_CLOEXEC);
  if (fd < 0) { snprintf(r->note, sizeof r->note, "open"); return -1; }
  unsigned long addr = init_writable_addr();
  if (!addr) { snprintf(r->note, sizeof r->note, "opened for writing; /proc/1/maps unreadable"); return 0; }
  char b[8];
  if (pread(fd, b, sizeof b, (off_t)addr) != sizeof b) { snprintf(r->note, sizeof r->note, "opened; pread"); return -1; }
  long n = pwrite(fd, b, sizeof b, (off_t)addr);
  snprintf(r->note, sizeof r->note, "pwrite at %#lx", addr);
  return n;
}
int main(void) {
  if (getpid() == 1) SAFE("the probe itself is pid 1");
  struct res r = guarded(attempt, NULL);
  if (r.ret < 0 && !r.sig && (r.err == ENOENT || r.err == ESRCH)) SAFE("/proc/1/mem: %s", describe(&r));
  if (r.ret < 0 && !r.sig && (r.err == EROFS || r.err == EIO) && strcmp(r.note, "open") != 0) SAFE("/proc/1/mem write failed: %s", describe(&r));
  expect_refused("write to /proc/1/mem", &r);
}
