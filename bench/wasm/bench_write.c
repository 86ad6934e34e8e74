// fd_write throughput: argv[1] writes of 64 bytes each to stdout.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  char buf[64];
  memset(buf, 'x', sizeof buf - 1);
  buf[sizeof buf - 1] = '\n';
  for (int i = 0; i < n; i++) write(1, buf, sizeof buf);
  return 0;
}
