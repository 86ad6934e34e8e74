/* /proc/sysrq-trigger: one byte reboots or crashes the host. The probe only opens it for
 * writing and writes nothing. SAFE: open for writing fails. */
#include "probe.h"
int main(void) {
  int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) UNSAFE("/proc/sysrq-trigger opened for writing (nothing written)");
  SAFE("open /proc/sysrq-trigger for writing: %s", ename(errno));
}
