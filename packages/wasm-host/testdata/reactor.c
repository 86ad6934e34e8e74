// A reactor module for call/reload tests; VERSION is set at compile time.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION 1
#endif

static int counter;
static int dirfd = -1;

__attribute__((export_name("version"))) int version(void) { return VERSION; }
__attribute__((export_name("add"))) int add(int a, int b) { return a + b; }
__attribute__((export_name("bump"))) int bump(void) { return ++counter; }
__attribute__((export_name("spin"))) int spin(void) {
  volatile unsigned x = 0;
  for (;;) x++;
  return 0;
}
__attribute__((export_name("open_dir"))) int open_dir(void) {
  dirfd = open("/sandbox/d1", O_RDONLY | O_DIRECTORY);
  return dirfd;
}
// Reads "secret" through the held directory fd: 1 = read, -errno otherwise.
__attribute__((export_name("read_via_dir"))) int read_via_dir(void) {
  int fd = openat(dirfd, "secret", O_RDONLY);
  if (fd < 0) return -1;
  close(fd);
  return 1;
}
__attribute__((export_name("parent_via_dir"))) int parent_via_dir(void) {
  int fd = openat(dirfd, "../top.txt", O_RDONLY);
  if (fd < 0) return -1;
  close(fd);
  return 1;
}
__attribute__((export_name("say"))) int say(void) {
  printf("hello from v%d\n", VERSION);
  fflush(stdout);
  return 0;
}

extern int forge_info(const char* p, int len) __attribute__((import_module("forge"), import_name("info")));
extern int forge_sysinfo(char* buf, int len, int* used) __attribute__((import_module("forge"), import_name("system_info")));
extern int forge_sleep(int ms) __attribute__((import_module("forge"), import_name("sleep")));
extern int forge_time(int clock, unsigned long long* out) __attribute__((import_module("forge"), import_name("time_now")));
extern int forge_log(int level, const char* p, int len) __attribute__((import_module("forge"), import_name("log")));

static char info[512];
__attribute__((export_name("host_api"))) int host_api(void) {
  const char* m = "hello host";
  if (forge_info(m, (int)strlen(m)) != 0) return -1;
  int used = 0;
  if (forge_sysinfo(info, 4, &used) != 102) return -2;
  if (forge_sysinfo(info, sizeof info, &used) != 0 || used <= 0) return -3;
  if (strstr(info, "\"platform\"") == 0) return -4;
  unsigned long long t = 0;
  if (forge_time(0, &t) != 0 || t == 0) return -5;
  if (forge_sleep(1) != 0) return -6;
  if (forge_log(9, m, 1) != 104) return -7;
  if (forge_info((const char*)0x7fffffff, 10) != 100) return -8;
  return 0;
}
