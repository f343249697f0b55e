#define _GNU_SOURCE
#include "internal.h"

/* Processes: the one clone of a container's init (clone3 with its namespaces, cgroup and
 * pidfd), pidfds, exec by fd, sealed copies of our binaries, posix_spawn for helpers. */
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The kernel's struct sigaction for rt_sigaction (not glibc's). */
struct k_sigaction { void *handler; unsigned long flags; void *restorer; uint64_t mask; };

int sr_spawn_sync_fd(int preserve_fds) { return 3 + preserve_fds; }
int sr_spawn_fifo_fd(int preserve_fds) { return 3 + preserve_fds + 1; }
int sr_spawn_extra_fd(int preserve_fds) { return 3 + preserve_fds + 3; }

/* Runs in the clone child: raw syscalls only (no malloc, no stdio, no locks). */
static void __attribute__((noreturn)) spawn_child(const struct sr_spawn *s) {
    int base = 3 + s->preserve_fds;
    int err;
    struct k_sigaction dfl = { .handler = SIG_DFL };
    uint64_t empty = 0;

    /* Dispatch leaves signals ignored or blocked: none of that may reach the container.
     * Handlers go first, while sr_spawn still has every signal blocked: this child may
     * share the caller's memory, where a caller's handler must never run. */
    for (int sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            raw(SYS_rt_sigaction, sig, (long)&dfl, 0, 8, 0);
    raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&empty, 0, 8, 0);

    /* Sources other than 0-2 themselves are >= 3 (0-2 are always open): nothing is lost. */
    for (int i = 0; i < 3; i++)
        if (s->stdio[i] >= 0 && s->stdio[i] != i && raw(SYS_dup3, s->stdio[i], i, 0, 0, 0) < 0) { err = errno; goto fail_early; }

    /* Park the fds above the final slots, then place them. */
    int tsync = raw(SYS_fcntl, s->sync_fd, F_DUPFD_CLOEXEC, base + 3, 0, 0);
    int tfifo = s->fifo_fd >= 0 ? raw(SYS_fcntl, s->fifo_fd, F_DUPFD_CLOEXEC, base + 3, 0, 0) : -1;
    int thelp = raw(SYS_fcntl, s->helper_fd, F_DUPFD_CLOEXEC, base + 3, 0, 0);
    int textra = s->extra_fd >= 0 ? raw(SYS_fcntl, s->extra_fd, F_DUPFD_CLOEXEC, base + 4, 0, 0) : -1;
    if (tsync < 0 || thelp < 0 || (s->fifo_fd >= 0 && tfifo < 0) || (s->extra_fd >= 0 && textra < 0)) {
        err = errno;
        goto fail_early;
    }
    if (raw(SYS_dup3, tsync, base, 0, 0, 0) < 0) { err = errno; goto fail_early; }
    if (tfifo >= 0 && raw(SYS_dup3, tfifo, base + 1, 0, 0, 0) < 0) { err = errno; goto fail; }
    if (raw(SYS_dup3, thelp, base + 2, O_CLOEXEC, 0, 0) < 0) { err = errno; goto fail; }
    if (textra >= 0 && raw(SYS_dup3, textra, base + 3, 0, 0, 0) < 0) { err = errno; goto fail; }
    /* Everything above is closed; preserved fds lose CLOEXEC (runc semantics). */
    raw(SYS_close_range, textra >= 0 ? base + 4 : base + 3, ~0U, 0, 0, 0);
    if (tfifo < 0) raw(SYS_close, base + 1, 0, 0, 0, 0);
    for (int fd = 3; fd < base; fd++) raw(SYS_fcntl, fd, F_SETFD, 0, 0, 0);

    if (s->wait_parent) {
        char c;
        long n;
        do n = raw(SYS_read, base, (long)&c, 1, 0, 0); while (n < 0 && errno == EINTR);
        if (n != 1) raw(SYS_exit_group, 127, 0, 0, 0, 0);
        /* The maps do not change our credentials: we still hold the host's ids, unmapped
         * in the new namespace, and exec would drop every capability. Become its root.
         * Raw syscalls: glibc's wrappers signal threads that do not exist here. */
        if (raw(SYS_setgroups, 0, 0, 0, 0, 0) < 0 || raw(SYS_setresgid, 0, 0, 0, 0, 0) < 0 ||
            raw(SYS_setresuid, 0, 0, 0, 0, 0) < 0) {
            err = errno;
            goto fail;
        }
    }
    raw(SYS_execveat, base + 2, (long)"", (long)s->argv, (long)s->envp, AT_EMPTY_PATH);
    err = errno;
fail:
    {
        struct sr_report r = { .kind = SR_REPORT_ERROR, .err = err };
        memcpy(r.step, "start swiftrun-init", 20);
        memcpy(r.call, "execveat", 9);
        raw(SYS_write, base, (long)&r, sizeof r, 0, 0);
    }
    raw(SYS_exit_group, 127, 0, 0, 0, 0);
    __builtin_unreachable();
fail_early:
    {
        struct sr_report r = { .kind = SR_REPORT_ERROR, .err = err };
        memcpy(r.step, "arrange fds", 12);
        memcpy(r.call, "fcntl", 6);
        raw(SYS_write, s->sync_fd, (long)&r, sizeof r, 0, 0);
    }
    raw(SYS_exit_group, 127, 0, 0, 0, 0);
    __builtin_unreachable();
}

#if defined(__x86_64__)
/* clone3 whose child starts fn(s) on the stack the args name, as glibc's clone() does for
 * clone(2): after the syscall the child has no frame to return to. fn and s ride in
 * callee-saved registers, which the child gets copies of. */
static long clone3_call(struct clone_args *args, void (*fn)(const struct sr_spawn *), const struct sr_spawn *s) {
    long ret;
    register void (*r12)(const struct sr_spawn *) __asm__("r12") = fn;
    register const struct sr_spawn *r13 __asm__("r13") = s;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %%r13, %%rdi\n\t"
        "call *%%r12\n\t"
        "ud2\n"
        "1:"
        : "=a"(ret)
        : "a"((long)SYS_clone3), "D"(args), "S"(sizeof *args), "r"(r12), "r"(r13)
        : "rcx", "r11", "memory");
    return ret;
}
#endif

int sr_spawn(const struct sr_spawn *s, int *pidfd_out) {
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = s->flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    if (s->cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)s->cgroup_fd;
    }
    /* Every signal blocked until the child has reset its handlers (see spawn_child). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    long pid;
#if defined(__x86_64__)
    /* Asked for, and unless the child must wait for us (user namespace maps), it shares our
     * memory and we sleep until it has exec'd (posix_spawn's way): no copy of this process's page tables
     * and no copy-on-write faults after, which a fork of a Swift process pays on every
     * health probe. Its 16 KiB stack is ours to lend while we sleep. */
    char stack[16384] __attribute__((aligned(16)));
    if (s->share_vm && !s->wait_parent) {
        args.flags |= CLONE_VM | CLONE_VFORK;
        args.stack = (uint64_t)(uintptr_t)stack;
        args.stack_size = sizeof stack;
        pid = clone3_call(&args, spawn_child, s);
    } else
#endif
    {
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) spawn_child(s);
        if (pid < 0) pid = -errno;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) return (int)pid;
    *pidfd_out = pidfd;
    return (int)pid;
}

int sr_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
int sr_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int sr_pidfd_wait(int pidfd, int *code, int *signaled, int nohang) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    for (;;) {
        int r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0));
        if (r == 0) break;
        if (errno != EINTR) return -1;
    }
    if (info.si_pid == 0) return 1; /* still running (WNOHANG) */
    *signaled = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
    *code = info.si_status;
    return 0;
}

int sr_memfd_create(const char *name, unsigned flags) { return (int)syscall(SYS_memfd_create, name, flags); }
int sr_seal_memfd(int fd) {
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
}
int sr_close_range(unsigned first, unsigned last, unsigned flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}
int sr_setns(int fd, int nstype) { return setns(fd, nstype); }
int sr_set_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int sr_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

/* Before 6.8 an exec through an fd names the process after the fd's number. */
int sr_set_comm(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

int sr_exec_fd(int fd, char *const argv[], char *const envp[]) {
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}
int sr_kill(pid_t pid, int sig) { return kill(pid, sig); }

int sr_sealed_copy(const char *path, const char *name) {
    int src = open(path, O_RDONLY | O_CLOEXEC);
    if (src < 0) return -1;
    struct stat st;
    if (fstat(src, &st) < 0) { int e = errno; close(src); errno = e; return -1; }
    int dst = sr_memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (dst < 0) { int e = errno; close(src); errno = e; return -1; }
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(dst, src, NULL, (size_t)left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { int e = n < 0 ? errno : EIO; close(src); close(dst); errno = e; return -1; }
        left -= n;
    }
    close(src);
    if (fchmod(dst, 0555) < 0 || sr_seal_memfd(dst) < 0) { int e = errno; close(dst); errno = e; return -1; }
    return dst;
}

const char *sr_signal_name(int sig) { return sigabbrev_np(sig); }

/* posix_spawn with fds[i] as the child's fd i and every other fd closed, signals at their
 * defaults, optionally in a new session. The sources are first parked high so that placing
 * one cannot clobber another (a source may be a low number another slot needs). */
int sr_posix_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int n,
                   int new_session, pid_t *pid) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    int rc;
    if (n > 64) return EINVAL;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    for (int i = 0; i < n; i++)
        posix_spawn_file_actions_adddup2(&fa, fds[i] >= 0 ? fds[i] : -1, 1000 + i);
    for (int i = 0; i < n; i++)
        posix_spawn_file_actions_adddup2(&fa, 1000 + i, i);
    posix_spawn_file_actions_addclosefrom_np(&fa, n);
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (new_session ? POSIX_SPAWN_SETSID : 0));
    rc = posix_spawn(pid, path, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

