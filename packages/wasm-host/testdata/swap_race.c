// Opens /sandbox/swap/secret over and over while the host swaps "swap" between a real
// directory and a symlink pointing outside; counts reads that saw the outside file.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  int leaks = 0, inside = 0, refused = 0;
  for (int i = 0; i < 4000; i++) {
    int fd = open("/sandbox/swap/secret", O_RDONLY);
    if (fd < 0) { refused++; continue; }
    char buf[16] = {0};
    read(fd, buf, 15);
    close(fd);
    if (strncmp(buf, "OUTSIDE", 7) == 0) leaks++;
    else inside++;
  }
  printf("leaks=%d\n", leaks);
  fprintf(stderr, "inside=%d refused=%d\n", inside, refused);
  return 0;
}
