/* Reading the kernel log (syslog(SYSLOG_ACTION_READ_ALL) and /dev/kmsg) leaks kernel
 * addresses and host activity (Docker denies syslog). SAFE: both refused. */
#include "probe.h"
#include <sys/klog.h>
static long attempt(void *a, struct res *r) { (void)a; (void)r; char b[256]; return klogctl(3 /* READ_ALL */, b, sizeof b); }
int main(void) {
  struct res r = guarded(attempt, NULL);
  int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  char b[256];
  if (fd >= 0) {
    ssize_t n = read(fd, b, sizeof b);
    if (n > 0) UNSAFE("read the kernel log from /dev/kmsg");
  }
  if (refused(&r)) SAFE("syslog(READ_ALL): %s; /dev/kmsg: %s", describe(&r), fd < 0 ? ename(errno) : "no data");
  UNSAFE("syslog(READ_ALL): %s", describe(&r));
}
