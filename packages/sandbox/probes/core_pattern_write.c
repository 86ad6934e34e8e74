/* /proc/sys/kernel/core_pattern: "|/path" runs a program as host root on the next crash.
 * The probe writes the current value back unchanged (nothing changes on the host).
 * SAFE: cannot open it for writing, or the write fails. */
#include "probe.h"
int main(void) {
  char cur[512];
  if (read_file("/proc/sys/kernel/core_pattern", cur, sizeof cur) < 0) SAFE("core_pattern unreadable: %s", ename(errno));
  int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);
  if (fd < 0) SAFE("open core_pattern for writing: %s", ename(errno));
  ssize_t n = write(fd, cur, strlen(cur));
  int e = errno;
  close(fd);
  if (n >= 0) UNSAFE("wrote the host's kernel.core_pattern (same value written back)");
  SAFE("write core_pattern: %s", ename(e));
}
