// Tries every route out of the preopen /sandbox; prints what each attempt got.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void try_open(const char* what, const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    char buf[16] = {0};
    read(fd, buf, 15);
    printf("%s: OPENED (%s)\n", what, buf);
    close(fd);
  } else printf("%s: %s\n", what, strerror(errno));
}

static const char* e(int rc) { return rc == 0 ? "OK" : strerror(errno); }

int main(void) {
  try_open("dotdot", "/sandbox/../outside/secret");
  try_open("deep dotdot", "/sandbox/sub/../../outside/secret");
  try_open("absolute symlink", "/sandbox/abs_link/secret");
  try_open("relative symlink out", "/sandbox/rel_link/secret");
  try_open("symlink chain out", "/sandbox/chain1/secret");
  try_open("symlink to file out", "/sandbox/file_link");
  try_open("inner symlink", "/sandbox/inner_link/ok");
  __wasi_fd_t fd;
  printf("raw absolute: %d\n", __wasi_path_open(3, 0, "/etc/passwd", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
  printf("raw dotdot: %d\n", __wasi_path_open(3, 0, "..", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
  int sub = open("/sandbox/sub", O_RDONLY | O_DIRECTORY);
  int o = openat(sub, "../../outside/secret", O_RDONLY);
  printf("openat dotdot from subdir: %s\n", o >= 0 ? "OPENED" : strerror(errno));
  struct stat st;
  printf("stat through abs link: %s\n", e(stat("/sandbox/abs_link", &st)));
  printf("lstat abs link: %s\n", e(lstat("/sandbox/abs_link", &st)));
  printf("symlink absolute target: %s\n", e(symlink("/etc", "/sandbox/new_abs")));
  printf("symlink escaping target: %s\n", e(symlink("../../etc", "/sandbox/new_rel")));
  printf("symlink inner target: %s\n", e(symlink("sub", "/sandbox/new_inner")));
  printf("hard link from outside: %s\n", e(link("/sandbox/../outside/secret", "/sandbox/stolen")));
  printf("hard link through abs symlink: %s\n", e(linkat(AT_FDCWD, "/sandbox/file_link", AT_FDCWD, "/sandbox/stolen2", AT_SYMLINK_FOLLOW)));
  printf("hard link ro to rw: %s\n", e(link("/ro/data.txt", "/sandbox/ro_alias")));
  printf("rename out: %s\n", e(rename("/sandbox/sub", "/sandbox/../outside/moved")));
  printf("rename in: %s\n", e(rename("/sandbox/../outside/secret", "/sandbox/got")));
  printf("mkdir out: %s\n", e(mkdir("/sandbox/../outside/newdir", 0755)));
  printf("unlink out: %s\n", e(unlink("/sandbox/../outside/secret")));
  printf("unlink through symlink dir: %s\n", e(unlink("/sandbox/abs_link/secret")));
  printf("create through dangling out link: %s\n", e(open("/sandbox/dangling_out", O_CREAT | O_WRONLY, 0644) >= 0 ? 0 : -1));
  return 0;
}
