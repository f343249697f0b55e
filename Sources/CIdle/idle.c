// swiftrun-idle: where a container's supervisor waits while nothing happens.
//
// However little it does, the Swift supervisor keeps ~0.65 MB of private pages (the
// runtime's data, the relocated tables of a PIE, its heap): conmon's idle cost is 0.4 MB.
// So a quiet second after its last event the supervisor execs this program (same pid,
// same children, the fds it needs kept open, the rest closed by O_CLOEXEC), which waits
// on those fds and the supervisor's next timer, and execs the supervisor back (through the
// fd it was given: an upgrade on disk meanwhile does not change what resumes) as soon as
// one is ready. Nothing is read here, and nothing but the wait is done.
//
//   swiftrun-idle EXE_FD WAKE_NS FD:EVENTS[,FD:EVENTS...] -- ARGV...
//
// WAKE_NS is a CLOCK_MONOTONIC deadline (-1: none); EVENTS are poll(2) event bits.
// Built static against musl by the Makefile, like swiftrun-init.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

extern char **environ;

static void die(const char *what) {
    char msg[256];
    int n = errno ? snprintf(msg, sizeof msg, "swiftrun-idle: %s: %s (the supervisor cannot resume: its container is killed with it)\n",
                             what, strerror(errno))
                  : snprintf(msg, sizeof msg, "swiftrun-idle: %s\n", what);
    if (n > 0) (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    _exit(125);
}

static long parse(const char *s, const char **end) {
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s) { errno = 0; die("bad arguments (it is started by swiftrun-supervise only)"); }
    *end = e;
    return v;
}

int main(int argc, char **argv) {
    prctl(PR_SET_NAME, "swiftrun-idle", 0, 0, 0);
    // CVE-2019-5736: a non-dumpable process's /proc/PID/fd and exe cannot be opened
    // without CAP_SYS_PTRACE, even by a container process that sees us (one in the host's
    // pid namespace): the supervisor's binary, held here by fd, stays out of its reach.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    int sep = 0;
    for (int i = 1; i < argc; i++) if (strcmp(argv[i], "--") == 0) { sep = i; break; }
    if (sep != 4 || sep + 1 >= argc) { errno = 0; die("usage: swiftrun-idle EXE_FD WAKE_NS FD:EVENTS,... -- ARGV... (it is started by swiftrun-supervise only)"); }
    const char *e;
    int exe = (int)parse(argv[1], &e);
    long long wake = parse(argv[2], &e);
    int n = 1;
    for (const char *p = argv[3]; *p; p++) n += *p == ',';
    struct pollfd fds[n];
    int nfds = 0;
    for (const char *p = argv[3]; *p;) {
        fds[nfds].fd = (int)parse(p, &e);
        if (*e != ':') { errno = 0; die("bad fd list (it is started by swiftrun-supervise only)"); }
        fds[nfds].events = (short)parse(e + 1, &e);
        fds[nfds].revents = 0;
        nfds++;
        p = *e == ',' ? e + 1 : e;
    }
    for (;;) {
        struct timespec ts, *tp = NULL;
        if (wake >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long long left = wake - ((long long)now.tv_sec * 1000000000LL + now.tv_nsec);
            if (left <= 0) break;
            ts.tv_sec = left / 1000000000LL;
            ts.tv_nsec = left % 1000000000LL;
            tp = &ts;
        }
        int r = ppoll(fds, (nfds_t)nfds, tp, NULL);
        if (r >= 0 || errno != EINTR) break; // ready, due, or an error the supervisor reports
    }
    // Not inherited by what resumes (it opens its own when it idles again).
    fcntl(exe, F_SETFD, FD_CLOEXEC);
    for (int tries = 0; tries < 50; tries++) {
        syscall(SYS_execveat, exe, "", &argv[sep + 1], environ, AT_EMPTY_PATH);
        if (errno != ENOMEM && errno != EAGAIN) break;
        usleep(20000);
    }
    die("execveat the supervisor");
}
