/* CVE-2019-5736 (see SECURITY.md): runc's binary was overwritten through
 * /proc/<pid>/exe of a runtime process visible in the container. Here the host-side
 * executables behind the sandbox are forge-init (PID 1, exec'd from the host) and the
 * payload's own binary (from a read-only bind). SAFE: neither /proc/1/exe nor
 * /proc/self/exe can be opened for writing, directly or by reopening an O_PATH fd. */
#include "probe.h"
static long open_w(void *a, struct res *r) {
  (void)r;
  return open((const char *)a, O_WRONLY | O_CLOEXEC);
}
static long reopen_w(void *a, struct res *r) {
  (void)r;
  int p = open((const char *)a, O_PATH | O_CLOEXEC);
  if (p < 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", p);
  return open(path, O_WRONLY | O_CLOEXEC);
}
int main(void) {
  const char *targets[] = {"/proc/1/exe", "/proc/self/exe"};
  for (int i = 0; i < 2; i++) {
    struct res r = guarded(open_w, (void *)targets[i]);
    if (r.ret >= 0) UNSAFE("open(%s, O_WRONLY) succeeded", targets[i]);
    r = guarded(reopen_w, (void *)targets[i]);
    if (r.ret >= 0) UNSAFE("reopening an O_PATH fd of %s for writing succeeded", targets[i]);
  }
  SAFE("/proc/1/exe and /proc/self/exe cannot be opened for writing");
}
