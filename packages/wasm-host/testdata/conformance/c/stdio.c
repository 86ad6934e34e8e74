// wasi-libc stdio and process basics: printf/puts to stdout, fprintf to stderr, fgets
// from stdin, getenv, argv, clock_gettime/nanosleep, and exit codes (exit, return
// from main, abort). The case is argv[1].
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (!strcmp(which, "hello")) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    printf("GREETING=%s MISSING=%s\n", getenv("GREETING"), getenv("MISSING") ? "set" : "(null)");
    fprintf(stderr, "to stderr\n");
    return 0;
  }
  if (!strcmp(which, "cat")) {
    char line[128];
    int n = 0;
    while (fgets(line, sizeof line, stdin)) printf("%d:%s", ++n, line);
    printf("\nlines=%d eof=%d\n", n, feof(stdin) != 0);
    return 0;
  }
  if (!strcmp(which, "clock")) {
    struct timespec a, b, r;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec d = {0, 30 * 1000 * 1000};
    int rc = nanosleep(&d, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ms = (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("nanosleep=%d slept>=30ms=%d\n", rc, ms >= 30);
    clock_gettime(CLOCK_REALTIME, &a);
    printf("realtime after 2020=%d\n", a.tv_sec > 1577836800);
    printf("getres monotonic=%d\n", clock_getres(CLOCK_MONOTONIC, &r) == 0);
    return 0;
  }
  if (!strcmp(which, "exit")) {
    printf("buffered, flushed by exit\n");
    exit(atoi(argv[2]));
  }
  if (!strcmp(which, "abort")) {
    printf("before abort\n");
    fflush(stdout);
    abort();
  }
  fprintf(stderr, "unknown case %s\n", which);
  return 2;
}
