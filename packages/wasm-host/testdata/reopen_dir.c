// Reopens the first preopen with the very rights fd_fdstat_get reports for it, as Rust's
// std does at its first directory open (issue 14: Forge answered EISDIR, wasmtime and
// node:wasi 0), then reads the directory and creates a file through the new fd.
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

int main(void) {
  __wasi_fdstat_t st;
  __wasi_errno_t e = __wasi_fd_fdstat_get(3, &st);
  if (e) {
    printf("fdstat %d\n", e);
    return 1;
  }
  __wasi_fd_t dir;
  e = __wasi_path_open(3, 0, ".", __WASI_OFLAGS_DIRECTORY, st.fs_rights_base, st.fs_rights_inheriting, 0, &dir);
  printf("reopen %d\n", e);
  if (e) return 2;
  uint8_t buf[512];
  __wasi_size_t used = 0;
  e = __wasi_fd_readdir(dir, buf, sizeof buf, 0, &used);
  printf("readdir %d %s\n", e, used > 0 ? "entries" : "none");
  __wasi_fd_t f;
  e = __wasi_path_open(dir, 0, "made.txt", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, 0, 0, &f);
  printf("create %d\n", e);
  if (!e) {
    const char *text = "made\n";
    __wasi_ciovec_t iov = {(const uint8_t *)text, strlen(text)};
    __wasi_size_t n;
    e = __wasi_fd_write(f, &iov, 1, &n);
    printf("write %d %u\n", e, (unsigned)n);
  }
  return 0;
}
