// Direct preview1 calls (wasi/api.h) for what libc hides: prestat errors, fd_renumber
// (over a preopen too), readlink into short buffers, path_link/symlink/unlink with
// trailing slashes, fd_readdir cookies with a small buffer, fd_allocate/fd_advise,
// nanosecond timestamps, and operations on closed fds. Preopen /sb. Case = argv[1].
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static const char *E(__wasi_errno_t e) {
  static const char *n[] = {"OK", "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EALREADY", "EBADF", "EBADMSG", "EBUSY", "ECANCELED", "ECHILD", "ECONNABORTED", "ECONNREFUSED", "ECONNRESET", "EDEADLK", "EDESTADDRREQ", "EDOM", "EDQUOT", "EEXIST", "EFAULT", "EFBIG", "EHOSTUNREACH", "EIDRM", "EILSEQ", "EINPROGRESS", "EINTR", "EINVAL", "EIO", "EISCONN", "EISDIR", "ELOOP", "EMFILE", "EMLINK", "EMSGSIZE", "EMULTIHOP", "ENAMETOOLONG", "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE", "ENOBUFS", "ENODEV", "ENOENT", "ENOEXEC", "ENOLCK", "ENOLINK", "ENOMEM", "ENOMSG", "ENOPROTOOPT", "ENOSPC", "ENOSYS", "ENOTCONN", "ENOTDIR", "ENOTEMPTY", "ENOTRECOVERABLE", "ENOTSOCK", "ENOTSUP", "ENOTTY", "ENXIO", "EOVERFLOW", "EOWNERDEAD", "EPERM", "EPIPE", "EPROTO", "EPROTONOSUPPORT", "EPROTOTYPE", "ERANGE", "EROFS", "ESPIPE", "ESRCH", "ESTALE", "ETIMEDOUT", "ETXTBSY", "EXDEV", "ENOTCAPABLE"};
  return e < sizeof n / sizeof n[0] ? n[e] : "E?";
}

#define R(label, call) printf("%s: %s\n", label, E(call))
#define RW (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)

static __wasi_fd_t mk(const char *name, const char *content) {
  __wasi_fd_t fd = 0;
  __wasi_errno_t e = __wasi_path_open(3, 0, name, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, RW, 0, 0, &fd);
  if (e) printf("create %s: %s\n", name, E(e));
  __wasi_ciovec_t iov = {(const uint8_t *)content, strlen(content)};
  __wasi_size_t n;
  __wasi_fd_write(fd, &iov, 1, &n);
  return fd;
}

static void prestat(void) {
  __wasi_prestat_t p;
  R("prestat 3", __wasi_fd_prestat_get(3, &p));
  printf("tag %d len %u\n", p.tag, (unsigned)p.u.dir.pr_name_len);
  char name[16] = {0};
  R("dir_name short buffer", __wasi_fd_prestat_dir_name(3, (uint8_t *)name, 1));
  R("dir_name exact", __wasi_fd_prestat_dir_name(3, (uint8_t *)name, p.u.dir.pr_name_len));
  printf("name %s\n", name);
  R("prestat stdin", __wasi_fd_prestat_get(0, &p));
  R("prestat unused fd", __wasi_fd_prestat_get(40, &p));
  __wasi_fd_t f = mk("f", "x");
  R("prestat of a file", __wasi_fd_prestat_get(f, &p));
}

static void renumber(void) {
  __wasi_fd_t a = mk("a", "AAA"), b = mk("b", "BBB");
  R("renumber a->b", __wasi_fd_renumber(a, b));
  __wasi_fdstat_t st;
  R("fdstat a after", __wasi_fd_fdstat_get(a, &st));
  __wasi_filestat_t fs;
  R("filestat b after", __wasi_fd_filestat_get(b, &fs));
  printf("b is file of size %llu\n", (unsigned long long)fs.size);
  R("renumber to unused", __wasi_fd_renumber(b, 30));
  R("renumber from closed", __wasi_fd_renumber(a, b));
  R("renumber same", __wasi_fd_renumber(b, b));
  __wasi_fd_t d;
  R("open dir", __wasi_path_open(3, 0, ".", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_CREATE_FILE, RW, 0, &d));
  R("renumber dir over preopen", __wasi_fd_renumber(d, 3));
  R("fdstat old dir fd", __wasi_fd_fdstat_get(d, &st));
  __wasi_fd_t g;
  R("open via renumbered 3", __wasi_path_open(3, 0, "a", 0, __WASI_RIGHTS_FD_READ, 0, 0, &g));
  R("close", __wasi_fd_close(g));
  R("close twice", __wasi_fd_close(g));
  char buf[4];
  __wasi_iovec_t iov = {(uint8_t *)buf, 4};
  __wasi_size_t n;
  R("read closed", __wasi_fd_read(g, &iov, 1, &n));
  R("seek closed", __wasi_fd_seek(g, 0, __WASI_WHENCE_SET, (__wasi_filesize_t *)buf));
}

static void links(void) {
  mk("file", "data");
  char buf[10];
  memset(buf, '.', sizeof buf);
  __wasi_size_t used = 0;
  R("symlink", __wasi_path_symlink("file", 3, "sym"));
  R("readlink 10", __wasi_path_readlink(3, "sym", (uint8_t *)buf, 10, &used));
  printf("used %u: %.10s\n", (unsigned)used, buf);
  memset(buf, '.', sizeof buf);
  R("readlink 2", __wasi_path_readlink(3, "sym", (uint8_t *)buf, 2, &used));
  printf("used %u: %.10s\n", (unsigned)used, buf);
  R("readlink of file", __wasi_path_readlink(3, "file", (uint8_t *)buf, 10, &used));
  R("symlink dest/ (missing)", __wasi_path_symlink("file", 3, "dest/"));
  R("symlink over file", __wasi_path_symlink("x", 3, "file"));
  R("symlink over file/", __wasi_path_symlink("x", 3, "file/"));
  R("mkdir d", __wasi_path_create_directory(3, "d"));
  R("symlink over dir/", __wasi_path_symlink("x", 3, "d/"));
  R("link to itself", __wasi_path_link(3, 0, "file", 3, "file"));
  R("link onto dir", __wasi_path_link(3, 0, "file", 3, "d"));
  R("link dir", __wasi_path_link(3, 0, "d", 3, "d2"));
  R("link target/", __wasi_path_link(3, 0, "file", 3, "newlink/"));
  R("link dangling symlink", (__wasi_path_symlink("nowhere", 3, "dang"), __wasi_path_link(3, 0, "dang", 3, "dang2")));
  R("unlink dir", __wasi_path_unlink_file(3, "d"));
  R("unlink dir/", __wasi_path_unlink_file(3, "d/"));
  R("unlink file/", __wasi_path_unlink_file(3, "file/"));
  R("rmdir file", __wasi_path_remove_directory(3, "file"));
  R("rmdir d/", __wasi_path_remove_directory(3, "d/"));
  R("rename file to missing/", __wasi_path_rename(3, "file", 3, "newname/"));
  R("unlink file", __wasi_path_unlink_file(3, "file"));
  R("absolute path", __wasi_path_unlink_file(3, "/sb/sym"));
}

static void readdir_small(void) {
  __wasi_fd_t d;
  __wasi_path_create_directory(3, "d");
  __wasi_path_open(3, 0, "d", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_CREATE_FILE | __WASI_RIGHTS_FD_FILESTAT_GET, RW, 0, &d);
  char name[32];
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "entry-%02d", i);
    __wasi_fd_t f;
    __wasi_path_open(d, 0, name, __WASI_OFLAGS_CREAT, 0, 0, 0, &f);
    __wasi_fd_close(f);
  }
  // Read with a buffer that holds one and a half entries; follow d_next cookies.
  uint8_t buf[48];
  __wasi_dircookie_t cookie = 0;
  int seen = 0, calls = 0, dots = 0;
  for (;;) {
    __wasi_size_t used = 0;
    __wasi_errno_t e = __wasi_fd_readdir(d, buf, sizeof buf, cookie, &used);
    calls++;
    if (e) {
      printf("readdir: %s\n", E(e));
      break;
    }
    if (used < sizeof(__wasi_dirent_t)) break;
    __wasi_dirent_t ent;
    memcpy(&ent, buf, sizeof ent);
    if (sizeof ent + ent.d_namlen <= used) {
      if (ent.d_namlen <= 2 && buf[sizeof ent] == '.') dots++;
      else seen++;
    }
    cookie = ent.d_next;
    if (used < sizeof buf && sizeof ent + ent.d_namlen >= used) break;
  }
  printf("entries %d dots %d calls>=20 %d\n", seen, dots, calls >= 20);
  __wasi_filestat_t st;
  __wasi_fd_filestat_get(d, &st);
  __wasi_size_t used = 0;
  uint8_t big[4096];
  __wasi_fd_readdir(d, big, sizeof big, 0, &used);
  __wasi_dirent_t first;
  memcpy(&first, big, sizeof first);
  printf("first is . : %d, d_ino matches fstat: %d, type dir: %d\n", first.d_namlen == 1 && big[sizeof first] == '.', first.d_ino == st.ino, first.d_type == __WASI_FILETYPE_DIRECTORY);
  __wasi_size_t used2 = 0;
  __wasi_fd_readdir(d, big, sizeof big, 1000, &used2);
  printf("cookie past the end: used %u\n", (unsigned)used2);
  __wasi_fd_t f = mk("plain", "x");
  R("readdir on a file", __wasi_fd_readdir(f, big, sizeof big, 0, &used));
}

static void alloc_advise(void) {
  __wasi_fd_t f = mk("f", "");
  __wasi_filestat_t st;
  R("allocate 0+100", __wasi_fd_allocate(f, 0, 100));
  __wasi_fd_filestat_get(f, &st);
  printf("size %llu\n", (unsigned long long)st.size);
  R("allocate 10+10", __wasi_fd_allocate(f, 10, 10));
  __wasi_fd_filestat_get(f, &st);
  printf("size %llu\n", (unsigned long long)st.size);
  R("advise normal", __wasi_fd_advise(f, 0, 10, __WASI_ADVICE_NORMAL));
  R("advise dontneed", __wasi_fd_advise(f, 0, 0, __WASI_ADVICE_DONTNEED));
  R("set_size 7", __wasi_fd_filestat_set_size(f, 7));
  __wasi_fd_filestat_get(f, &st);
  printf("size %llu\n", (unsigned long long)st.size);
}

static void nanos(void) {
  // Nanosecond timestamps (WASI timestamps are u64 ns; wasmtime sets them with utimensat).
  __wasi_fd_t f = mk("f", "x");
  __wasi_filestat_t st, after;
  __wasi_fd_filestat_get(f, &st);
  __wasi_timestamp_t m = 1234567890123456789ull;
  R("set mtime", __wasi_path_filestat_set_times(3, 0, "f", 0, m, __WASI_FSTFLAGS_MTIM));
  __wasi_path_filestat_get(3, 0, "f", &after);
  printf("mtime off by %lld ns\n", (long long)(after.mtim - m));
  __wasi_timestamp_t a = 1111111111222222333ull;
  R("set atime via fd", __wasi_fd_filestat_set_times(f, a, 0, __WASI_FSTFLAGS_ATIM));
  __wasi_fd_filestat_get(f, &st);
  printf("atime off by %lld ns, mtime changed by %lld ns\n", (long long)(st.atim - a), (long long)(st.mtim - after.mtim));
  R("set both to whole microseconds", __wasi_fd_filestat_set_times(f, 1500000000000001000ull, 1600000000999999000ull, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  __wasi_fd_filestat_get(f, &st);
  printf("atime %llu mtime %llu\n", (unsigned long long)st.atim, (unsigned long long)st.mtim);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (!strcmp(which, "prestat")) prestat();
  else if (!strcmp(which, "renumber")) renumber();
  else if (!strcmp(which, "links")) links();
  else if (!strcmp(which, "readdir")) readdir_small();
  else if (!strcmp(which, "alloc")) alloc_advise();
  else if (!strcmp(which, "nanos")) nanos();
  else {
    fprintf(stderr, "unknown case %s\n", which);
    return 2;
  }
  return 0;
}
