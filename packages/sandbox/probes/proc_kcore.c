/* /proc/kcore is the kernel's memory as an ELF core. SAFE: cannot be opened and read
 * (Docker masks it with /dev/null). */
#include "probe.h"
int main(void) {
  int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
  if (fd < 0) SAFE("open /proc/kcore: %s", ename(errno));
  char b[64];
  ssize_t n = read(fd, b, sizeof b);
  if (n > 4 && memcmp(b, "\177ELF", 4) == 0) UNSAFE("read kernel memory image from /proc/kcore");
  if (n > 0) UNSAFE("read %zd bytes from /proc/kcore", n);
  SAFE("/proc/kcore: %s", n == 0 ? "empty (masked)" : ename(errno));
}
