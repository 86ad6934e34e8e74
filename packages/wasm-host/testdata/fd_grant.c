// A reactor that opens a file by path and reads it through the fd it got, for the
// tests of "an fd opened from a granted path carries that grant".
#include <fcntl.h>
#include <unistd.h>

static char buf[256];

static int read_path(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  int n = (int)read(fd, buf, sizeof buf);
  int closed = close(fd);
  if (n < 0) return -2;
  if (closed != 0) return -3;
  return n;
}

// Bytes read from /data/in.txt; -1 open refused, -2 read refused, -3 close refused.
__attribute__((export_name("read_in"))) int read_in(void) { return read_path("/data/in.txt"); }
// The same for /data/secret/key.
__attribute__((export_name("read_secret"))) int read_secret(void) {
  return read_path("/data/secret/key");
}
