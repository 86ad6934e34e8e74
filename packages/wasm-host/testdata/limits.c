// Limit probes, picked by argv[1]: membomb, grow, loop, recurse, raise.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

int raw_proc_raise(int sig) __attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")));

char* volatile sink;

__attribute__((noinline)) static int down(int n) {
  if (n == -1) return 0;
  return down(n + 1) ^ n;
}

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "membomb")) {
    int mib = 0;
    for (;;) {
      char* p = malloc(1 << 20);
      if (!p) break;
      p[0] = 1;
      sink = p;
      mib++;
    }
    printf("allocated %d MiB before malloc failed\n", mib);
    return 0;
  }
  if (!strcmp(what, "grow")) {
    printf("grow=%ld\n", (long)__builtin_wasm_memory_grow(0, 100000));
    return 0;
  }
  if (!strcmp(what, "loop")) {
    volatile unsigned x = 0;
    for (;;) x++;
  }
  if (!strcmp(what, "recurse")) return down(1);
  if (!strcmp(what, "raise")) return raw_proc_raise(9);
  if (!strcmp(what, "count")) {
    volatile unsigned x = 0;
    for (int i = 0; i < 100000; i++) x += i;
    printf("done\n");
    return 0;
  }
  printf("ok\n");
  return 0;
}
