/*
 * LD_PRELOAD fault injector for test/helpers/meta-write-fault.ts: while the file named by
 * META_WRITE_FAULT_TRIGGER exists, a pwrite into the first two pages of a file whose name ends
 * in META_WRITE_FAULT_FILE (LMDB's two meta pages: mdb_env_write_meta writes them with pwrite,
 * the data pages go through writev) fails with EIO. One commit then writes its data pages and
 * fails its meta-page write, as when a disk fails, or a file system is remounted read-only,
 * mid-commit: LMDB marks the environment MDB_FATAL_ERROR, and every later transaction of this
 * process fails with MDB_PANIC. Each refused write appends a line to "<trigger>.fired".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

static int refused(int fd, off_t offset) {
  const char *trigger = getenv("META_WRITE_FAULT_TRIGGER");
  const char *suffix = getenv("META_WRITE_FAULT_FILE");
  if (trigger == NULL || suffix == NULL) return 0;
  if (offset < 0 || offset >= 2 * sysconf(_SC_PAGESIZE)) return 0;
  if (access(trigger, F_OK) != 0) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  size_t len = strlen(suffix);
  if ((size_t)n < len || strcmp(path + n - len, suffix) != 0) return 0;
  char fired[4096];
  snprintf(fired, sizeof fired, "%s.fired", trigger);
  int out = open(fired, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out >= 0) {
    char line[128];
    int k = snprintf(line, sizeof line, "pwrite fd %d offset %lld\n", fd, (long long)offset);
    if (write(out, line, (size_t)k) < 0) { /* the marker is best effort */ }
    close(out);
  }
  return 1;
}

static ssize_t forward(const char *name, int fd, const void *buf, size_t count, off_t offset) {
  pwrite_fn real = (pwrite_fn)dlsym(RTLD_NEXT, name);
  return real(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
  if (refused(fd, offset)) {
    errno = EIO;
    return -1;
  }
  return forward("pwrite64", fd, buf, count, offset);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
  if (refused(fd, offset)) {
    errno = EIO;
    return -1;
  }
  return forward("pwrite", fd, buf, count, offset);
}
