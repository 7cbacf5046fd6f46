/*
 * zmq-freeze PROGRAM ARGS...: runs PROGRAM as its child and, told "freeze" on stdin, stops
 * every thread of it that libzmq made (named "ZMQbg/...") with ptrace (PTRACE_SEIZE then
 * PTRACE_INTERRUPT: that thread alone stops, the rest of the process runs on). It is libzmq's
 * threads given no CPU at all, as starvation gives them next to none, with no CPU spent on hogs.
 * The child is ours, so ptrace needs no privilege (Yama's ptrace_scope 1 allows descendants).
 *
 * "freeze N" waits (5 s at most) until N of them are stopped. Reports go to fd 3, one line each: "pid N" at once, "frozen N" (threads stopped),
 * "exit CODE SIGNAL FROZEN" when the child has ended (FROZEN: 1 if its libzmq threads were still
 * stopped then). Threads stay stopped until the child ends or HOLD_MS (env ZMQ_FREEZE_HOLD_MS,
 * default 20000) has passed since the freeze: then they run again ("thawed"), so a child that
 * cannot end without libzmq still ends.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FROZEN 64

static pid_t frozen[MAX_FROZEN];
static int nfrozen = 0;
static FILE *report;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int is_zmq_thread(pid_t pid, const char *tid) {
  char path[320], comm[32] = {0};
  snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid, tid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  int ok = fgets(comm, sizeof comm, f) != NULL && strncmp(comm, "ZMQbg", 5) == 0;
  fclose(f);
  return ok;
}

static int is_frozen(pid_t tid) {
  for (int i = 0; i < nfrozen; i++)
    if (frozen[i] == tid) return 1;
  return 0;
}

/* One pass over the child's threads: stops each of libzmq's not stopped yet. */
static void freeze_pass(pid_t pid) {
  char dir[32];
  snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL && nfrozen < MAX_FROZEN) {
    if (e->d_name[0] == '.' || !is_zmq_thread(pid, e->d_name)) continue;
    pid_t tid = (pid_t)atoi(e->d_name);
    if (is_frozen(tid)) continue;
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
      fprintf(report, "error seize %d: %s\n", (int)tid, strerror(errno));
      continue;
    }
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) {
      fprintf(report, "error interrupt %d: %s\n", (int)tid, strerror(errno));
      continue;
    }
    int status;
    // Stopped once this returns: the interrupt's stop is reported.
    waitpid(tid, &status, __WALL);
    frozen[nfrozen++] = tid;
  }
  if (d != NULL) closedir(d);
}

/*
 * Stops libzmq's threads until `want` are stopped, or 5 s have passed: a thread libzmq has just
 * started may not have named itself yet.
 */
static void freeze(pid_t pid, int want) {
  long until = now_ms() + 5000;
  freeze_pass(pid);
  while (nfrozen < want && now_ms() < until) {
    poll(NULL, 0, 10);
    freeze_pass(pid);
  }
  fprintf(report, "frozen %d\n", nfrozen);
}

static void thaw(void) {
  for (int i = 0; i < nfrozen; i++) ptrace(PTRACE_DETACH, frozen[i], 0, 0);
  nfrozen = 0;
  fprintf(report, "thawed\n");
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  report = fdopen(3, "w");
  if (report == NULL) return 2;
  setvbuf(report, NULL, _IOLBF, 0);
  const char *hold_env = getenv("ZMQ_FREEZE_HOLD_MS");
  long hold_ms = hold_env != NULL ? atol(hold_env) : 20000;
  pid_t child = fork();
  if (child == 0) {
    close(3);
    // The commands on stdin are ours, not the child's.
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  fprintf(report, "pid %d\n", (int)child);
  long frozen_at = -1;
  int input_open = 1;
  for (;;) {
    int status;
    pid_t w;
    // Frozen threads that died with the process are ours to reap, or the child's end never shows.
    while ((w = waitpid(-1, &status, __WALL | WNOHANG)) > 0) {
      if (w != child) continue;
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      fprintf(report, "exit %d %d %d\n", code, sig, nfrozen > 0 ? 1 : 0);
      return 0;
    }
    if (frozen_at >= 0 && nfrozen > 0 && now_ms() - frozen_at >= hold_ms) thaw();
    struct pollfd in = {.fd = 0, .events = POLLIN};
    if (input_open && poll(&in, 1, 10) > 0) {
      char line[64];
      if (fgets(line, sizeof line, stdin) == NULL) {
        input_open = 0;
      } else if (strncmp(line, "freeze", 6) == 0 && frozen_at < 0) {
        freeze(child, atoi(line + 6));
        frozen_at = now_ms();
      }
    } else if (!input_open) {
      poll(NULL, 0, 10);
    }
  }
}
