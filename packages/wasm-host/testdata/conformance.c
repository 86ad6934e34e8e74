// WASI preview1 conformance: every function the host implements, with deterministic output.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

int raw_proc_raise(int sig) __attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")));

#define SAY(...) printf(__VA_ARGS__)
#define ERR(call) SAY("%s -> %s\n", #call, (call) == 0 ? "0" : strerror(errno))

static int cmp(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

static void list(const char* path) {
  DIR* d = opendir(path);
  char* names[32];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) && n < 32) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  SAY("readdir %s:", path);
  for (int i = 0; i < n; i++) {
    SAY(" %s", names[i]);
    free(names[i]);
  }
  SAY("\n");
}

int main(int argc, char** argv) {
  // args, env
  SAY("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) SAY("argv[%d]=%s\n", i, argv[i]);
  SAY("FOO=%s\n", getenv("FOO"));
  SAY("HOME=%s\n", getenv("HOME") ? "set" : "unset");

  // stdin
  char line[64];
  while (fgets(line, sizeof line, stdin)) SAY("stdin: %s", line);

  // files: write, seek, read, tell, pwrite, pread, stat, truncate, sync, advise, allocate
  FILE* f = fopen("/sandbox/a.txt", "w");
  fputs("hello world\n", f);
  fclose(f);
  int fd = open("/sandbox/a.txt", O_RDWR);
  char buf[64] = {0};
  lseek(fd, 6, SEEK_SET);
  read(fd, buf, 5);
  SAY("seek+read=%s\n", buf);
  SAY("tell=%lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  lseek(fd, 0, SEEK_END);
  write(fd, "more\n", 5);
  SAY("end=%lld\n", (long long)lseek(fd, 0, SEEK_END));
  SAY("seek -1 -> %s\n", lseek(fd, -100, SEEK_SET) < 0 ? strerror(errno) : "ok");
  pwrite(fd, "HELLO", 5, 0);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 5, 0);
  SAY("pread=%s\n", buf);
  struct stat st;
  fstat(fd, &st);
  SAY("fstat size=%lld reg=%d nlink=%d\n", (long long)st.st_size, S_ISREG(st.st_mode), (int)st.st_nlink);
  ERR(ftruncate(fd, 4));
  fstat(fd, &st);
  SAY("truncated size=%lld\n", (long long)st.st_size);
  ERR(fsync(fd));
  ERR(fdatasync(fd));
  SAY("fadvise -> %d\n", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
  SAY("fallocate -> %d\n", posix_fallocate(fd, 0, 100));
  fstat(fd, &st);
  SAY("allocated size=%lld\n", (long long)st.st_size);
  struct timespec ts[2] = {{1000000000, 0}, {1200000000, 500}};
  ERR(futimens(fd, ts));
  fstat(fd, &st);
  SAY("futimens mtime=%lld\n", (long long)st.st_mtim.tv_sec);
  close(fd);

  // append and exclusive create
  fd = open("/sandbox/a.txt", O_WRONLY | O_APPEND);
  write(fd, "Z", 1);
  close(fd);
  stat("/sandbox/a.txt", &st);
  SAY("after append size=%lld\n", (long long)st.st_size);
  SAY("excl -> %s\n", open("/sandbox/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 ? strerror(errno) : "opened");
  SAY("missing -> %s\n", open("/sandbox/nope", O_RDONLY) < 0 ? strerror(errno) : "opened");
  ts[1].tv_sec = 1300000000;
  ERR(utimensat(AT_FDCWD, "/sandbox/a.txt", ts, 0));
  stat("/sandbox/a.txt", &st);
  SAY("utimensat mtime=%lld atime=%lld\n", (long long)st.st_mtim.tv_sec, (long long)st.st_atim.tv_sec);

  // directories, readdir, rename, link, symlink, readlink, unlink, rmdir
  ERR(mkdir("/sandbox/d", 0755));
  ERR(mkdir("/sandbox/d", 0755));
  fclose(fopen("/sandbox/d/x", "w"));
  fclose(fopen("/sandbox/d/y", "w"));
  list("/sandbox/d");
  ERR(rename("/sandbox/d/x", "/sandbox/d/z"));
  list("/sandbox/d");
  ERR(link("/sandbox/d/z", "/sandbox/d/hard"));
  stat("/sandbox/d/z", &st);
  SAY("nlink=%d\n", (int)st.st_nlink);
  ERR(symlink("z", "/sandbox/d/sym"));
  memset(buf, 0, sizeof buf);
  SAY("readlink=%zd %s\n", readlink("/sandbox/d/sym", buf, sizeof buf), buf);
  lstat("/sandbox/d/sym", &st);
  SAY("lstat islink=%d\n", S_ISLNK(st.st_mode));
  stat("/sandbox/d/sym", &st);
  SAY("stat via link isreg=%d\n", S_ISREG(st.st_mode));
  fd = open("/sandbox/d/sym", O_RDONLY | O_NOFOLLOW);
  SAY("open nofollow -> %s\n", fd < 0 ? strerror(errno) : "opened");
  ERR(rmdir("/sandbox/d"));
  ERR(unlink("/sandbox/d/sym"));
  ERR(unlink("/sandbox/d/hard"));
  ERR(unlink("/sandbox/d/z"));
  ERR(unlink("/sandbox/d/y"));
  ERR(unlink("/sandbox/d/y"));
  ERR(rmdir("/sandbox/d"));
  ERR(rmdir("/sandbox/d"));
  ERR(mkdir("/sandbox/sub/deep", 0755));
  ERR(mkdir("/sandbox/sub", 0755));
  ERR(mkdir("/sandbox/sub/deep", 0755));
  int dfd = open("/sandbox/sub", O_RDONLY | O_DIRECTORY);
  int nfd = openat(dfd, "deep/../../a.txt", O_RDONLY);
  memset(buf, 0, sizeof buf);
  read(nfd, buf, 4);
  SAY("openat relative=%s\n", buf);
  close(nfd);
  close(dfd);

  // read-only preopen
  fd = open("/ro/data.txt", O_RDONLY);
  memset(buf, 0, sizeof buf);
  read(fd, buf, sizeof buf - 1);
  SAY("ro read=%s", buf);
  close(fd);
  SAY("ro create -> %s\n", open("/ro/new.txt", O_CREAT | O_WRONLY, 0644) < 0 ? strerror(errno) : "opened");
  fd = open("/ro/data.txt", O_WRONLY);
  if (fd < 0) SAY("ro write open -> %s\n", strerror(errno));
  else SAY("ro write -> %s\n", write(fd, "x", 1) < 0 ? strerror(errno) : "wrote");
  SAY("ro mkdir -> %s\n", mkdir("/ro/dd", 0755) < 0 ? strerror(errno) : "made");
  SAY("ro unlink -> %s\n", unlink("/ro/data.txt") < 0 ? strerror(errno) : "removed");

  // clocks, sleep, poll
  struct timespec t1, t2, res;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  struct timespec nap = {0, 20 * 1000 * 1000};
  nanosleep(&nap, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t2);
  long long ms = (t2.tv_sec - t1.tv_sec) * 1000LL + (t2.tv_nsec - t1.tv_nsec) / 1000000;
  SAY("slept>=20ms=%d\n", ms >= 19);
  clock_gettime(CLOCK_REALTIME, &t1);
  SAY("realtime after 2020=%d\n", t1.tv_sec > 1577836800);
  SAY("getres=%d\n", clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  SAY("cputime ok=%d\n", t1.tv_sec >= 0);
  struct pollfd p = {1, POLLOUT, 0};
  SAY("poll=%d revents_out=%d\n", poll(&p, 1, 0), (p.revents & POLLOUT) != 0);

  // random, yield
  unsigned char r1[16] = {0}, r2[16] = {0};
  getentropy(r1, 16);
  getentropy(r2, 16);
  SAY("random differs=%d\n", memcmp(r1, r2, 16) != 0);
  SAY("sched_yield=%d\n", sched_yield());

  // raw calls: renumber, set_rights, set_flags, prestat, sockets (off)
  fd = open("/sandbox/a.txt", O_RDONLY);
  int fd2 = open("/sandbox/a.txt", O_RDONLY);
  SAY("renumber=%d\n", __wasi_fd_renumber(fd, fd2));
  SAY("closed old=%d\n", __wasi_fd_close(fd) == __WASI_ERRNO_BADF);
  __wasi_fdstat_t fst;
  (void)!__wasi_fd_fdstat_get(fd2, &fst);
  SAY("drop rights=%d\n", __wasi_fd_fdstat_set_rights(fd2, fst.fs_rights_base & ~__WASI_RIGHTS_FD_READ, 0));
  SAY("raise rights=%d\n", __wasi_fd_fdstat_set_rights(fd2, fst.fs_rights_base, 0) == __WASI_ERRNO_NOTCAPABLE);
  SAY("read without right -> %s\n", read(fd2, buf, 1) < 0 ? strerror(errno) : "read");
  SAY("set_flags=%d\n", __wasi_fd_fdstat_set_flags(fd2, __WASI_FDFLAGS_APPEND));
  close(fd2);
  __wasi_prestat_t pre;
  char pname[32] = {0};
  (void)!__wasi_fd_prestat_get(3, &pre);
  (void)!__wasi_fd_prestat_dir_name(3, (uint8_t*)pname, pre.u.dir.pr_name_len);
  SAY("prestat 3=%s\n", pname);
  __wasi_ciovec_t iov = {(const uint8_t*)"x", 1};
  __wasi_size_t sent;
  SAY("sock_send stdout=%d\n", __wasi_sock_send(1, &iov, 1, 0, &sent) == __WASI_ERRNO_NOTSOCK);
  SAY("sock_shutdown=%d\n", __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR) == __WASI_ERRNO_NOTSOCK);
  __wasi_fd_t acc;
  SAY("sock_accept=%d\n", __wasi_sock_accept(1, 0, &acc) == __WASI_ERRNO_NOTSOCK);
  __wasi_iovec_t riov = {(uint8_t*)buf, 1};
  __wasi_size_t got;
  __wasi_roflags_t rof;
  SAY("sock_recv=%d\n", __wasi_sock_recv(0, &riov, 1, 0, &got, &rof) == __WASI_ERRNO_NOTSOCK);
  SAY("raise 0=%d\n", raw_proc_raise(0));

  fprintf(stderr, "to stderr\n");
  fflush(stdout);
  return 7;
}
