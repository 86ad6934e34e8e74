// wasi-libc's POSIX layer over a preopen: open/read/write/lseek/fstat, opendir and
// readdir, mkdir/rmdir/unlink/rename, link/symlink/readlink, and the errno each error
// path sets. Preopen /sb (empty, writable). The case is argv[1].
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(label, expr)                                                    \
  do {                                                                        \
    errno = 0;                                                                \
    long r_ = (long)(expr);                                                   \
    if (r_ < 0) printf("%s: -1 %s\n", label, strerror(errno));                \
    else printf("%s: %ld\n", label, r_);                                      \
  } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    printf("opendir %s: %s\n", path, strerror(errno));
    return;
  }
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) {
    char buf[300];
    snprintf(buf, sizeof buf, "%s%s", e->d_name, e->d_type == DT_DIR ? "/" : e->d_type == DT_LNK ? "@" : "");
    names[n++] = strdup(buf);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  printf("ls %s:", path);
  for (int i = 0; i < n; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

static void files(void) {
  int fd = open("/sb/a", O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK("write", write(fd, "hello, world\n", 13));
  CHECK("lseek set", lseek(fd, 7, SEEK_SET));
  char buf[32] = {0};
  CHECK("read", read(fd, buf, 5));
  printf("got %s\n", buf);
  CHECK("lseek cur", lseek(fd, 0, SEEK_CUR));
  CHECK("lseek end", lseek(fd, 0, SEEK_END));
  CHECK("lseek negative", lseek(fd, -100, SEEK_CUR));
  CHECK("lseek bad whence", lseek(fd, 0, 42));
  struct stat st;
  CHECK("fstat", fstat(fd, &st));
  printf("size %lld reg %d nlink %llu\n", (long long)st.st_size, S_ISREG(st.st_mode), (unsigned long long)st.st_nlink);
  CHECK("ftruncate", ftruncate(fd, 5));
  CHECK("pwrite", pwrite(fd, "XY", 2, 1));
  memset(buf, 0, sizeof buf);
  CHECK("pread", pread(fd, buf, 10, 0));
  printf("got %s\n", buf);
  CHECK("close", close(fd));
  CHECK("close again", close(fd));
  CHECK("read closed", read(fd, buf, 1));
  CHECK("open missing", open("/sb/missing", O_RDONLY));
  CHECK("open excl existing", open("/sb/a", O_CREAT | O_EXCL | O_WRONLY, 0644));
  CHECK("open file as dir", open("/sb/a", O_RDONLY | O_DIRECTORY));
  CHECK("open under file", open("/sb/a/b", O_RDONLY));
  CHECK("open dir for write", open("/sb", O_WRONLY));
  CHECK("open dir read-only", open("/sb", O_RDONLY) >= 0);
  CHECK("open nofollow symlink", (symlink("a", "/sb/l"), open("/sb/l", O_RDONLY | O_NOFOLLOW)));
  CHECK("open not in a preopen", open("/etc/passwd", O_RDONLY));
  int ro = open("/sb/a", O_RDONLY);
  CHECK("write to O_RDONLY", write(ro, "x", 1));
  int wo = open("/sb/a", O_WRONLY);
  CHECK("read from O_WRONLY", read(wo, buf, 1));
  int ap = open("/sb/a", O_WRONLY | O_APPEND);
  CHECK("append write", write(ap, "++", 2));
  CHECK("append pos", lseek(ap, 0, SEEK_CUR));
  close(ro);
  close(wo);
  close(ap);
  int f = open("/sb/a", O_RDONLY);
  memset(buf, 0, sizeof buf);
  read(f, buf, sizeof buf - 1);
  printf("final %s\n", buf);
}

static void dirs(void) {
  CHECK("mkdir", mkdir("/sb/d", 0755));
  CHECK("mkdir again", mkdir("/sb/d", 0755));
  CHECK("mkdir nested missing", mkdir("/sb/x/y", 0755));
  close(open("/sb/d/f", O_CREAT | O_WRONLY, 0644));
  CHECK("mkdir sub", mkdir("/sb/d/sub", 0755));
  CHECK("symlink", symlink("f", "/sb/d/ln"));
  list("/sb/d");
  list("/sb/d/f");
  list("/sb/nope");
  CHECK("rmdir non-empty", rmdir("/sb/d"));
  CHECK("rmdir file", rmdir("/sb/d/f"));
  CHECK("unlink dir", unlink("/sb/d/sub"));
  CHECK("rmdir missing", rmdir("/sb/d/nope"));
  CHECK("rename file", rename("/sb/d/f", "/sb/d/g"));
  CHECK("rename over dir", rename("/sb/d/g", "/sb/d/sub"));
  CHECK("rename dir over file", rename("/sb/d/sub", "/sb/d/g"));
  CHECK("link", link("/sb/d/g", "/sb/d/h"));
  CHECK("link existing", link("/sb/d/g", "/sb/d/h"));
  CHECK("link dir", link("/sb/d/sub", "/sb/d/sub2"));
  char target[64] = {0};
  CHECK("readlink", readlink("/sb/d/ln", target, sizeof target));
  printf("target %s\n", target);
  CHECK("readlink file", readlink("/sb/d/g", target, sizeof target));
  struct stat st;
  CHECK("lstat link", lstat("/sb/d/ln", &st));
  printf("islnk %d\n", S_ISLNK(st.st_mode));
  CHECK("stat dangling", (unlink("/sb/d/g"), unlink("/sb/d/h"), stat("/sb/d/ln", &st)));
  CHECK("unlink all", unlink("/sb/d/ln"));
  CHECK("rmdir sub", rmdir("/sb/d/sub"));
  CHECK("rmdir d", rmdir("/sb/d"));
  list("/sb");
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (!strcmp(which, "files")) files();
  else if (!strcmp(which, "dirs")) dirs();
  else {
    fprintf(stderr, "unknown case %s\n", which);
    return 2;
  }
  return 0;
}
