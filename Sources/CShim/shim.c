#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/file.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The kernel's struct sigaction for rt_sigaction (not glibc's). */
struct k_sigaction { void *handler; unsigned long flags; void *restorer; uint64_t mask; };

static long raw(long nr, long a, long b, long c, long d, long e) {
    return syscall(nr, a, b, c, d, e);
}

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
int sr_socketpair_cloexec(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }
int sr_open_cloexec(const char *path, int flags, int mode) { return open(path, flags | O_CLOEXEC, mode); }
int sr_mkfifo(const char *path, int mode) { return mkfifo(path, (mode_t)mode); }
int sr_errno(void) { return errno; }
int sr_fcntl_setfd(int fd, int flags) { return fcntl(fd, F_SETFD, flags); }
int sr_set_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int sr_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

/* Before 6.8 an exec through an fd names the process after the fd's number. */
int sr_set_comm(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

int sr_open_path(const char *path, int cloexec) { return open(path, O_PATH | (cloexec ? O_CLOEXEC : 0)); }

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

int sr_seccomp_export(scmp_filter_ctx ctx, void **buf, size_t *len) {
    int fd = sr_memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) { close(fd); return rc; }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0) { rc = -errno; close(fd); return rc; }
    void *out = malloc(size ? (size_t)size : 1);
    if (!out) { close(fd); return -ENOMEM; }
    ssize_t n = pread(fd, out, (size_t)size, 0);
    close(fd);
    if (n != size) { free(out); return -EIO; }
    *buf = out;
    *len = (size_t)size;
    return 0;
}

int sr_seccomp_rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned nargs,
                    const unsigned *index, const int *op, const uint64_t *value,
                    const uint64_t *value_two) {
    struct scmp_arg_cmp cmps[6];
    if (nargs > 6) return -EINVAL;
    for (unsigned i = 0; i < nargs; i++) {
        cmps[i].arg = index[i];
        cmps[i].op = (enum scmp_compare)op[i];
        cmps[i].datum_a = value[i];
        cmps[i].datum_b = value_two[i];
    }
    /* Not the _exact variant: with several architectures libseccomp must translate. */
    return seccomp_rule_add_array(ctx, action, nr, nargs, cmps);
}

int sr_cap_from_name(const char *name) {
    cap_value_t v;
    if (cap_from_name(name, &v) != 0) return -1;
    return (int)v;
}

int sr_cap_last(void) {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return CAP_LAST_CAP;
    char b[16] = {0};
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    return n > 0 ? atoi(b) : CAP_LAST_CAP;
}

const char *sr_signal_name(int sig) { return sigabbrev_np(sig); }

int sr_attach_device_filter(int cgroup_fd, const void *insns, size_t len, char *log, size_t log_len) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = (uint32_t)(len / sizeof(struct bpf_insn));
    attr.license = (uint64_t)(uintptr_t)"Apache";
    int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (prog < 0 && log && log_len) {
        /* Again with the verifier's log, only to explain the failure (a log that
         * overflows fails the load with ENOSPC by itself, so never log on success). */
        int e = errno;
        log[0] = 0;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = (uint32_t)log_len;
        attr.log_level = 1;
        prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
        if (prog < 0) return -e;
    }
    if (prog < 0) return -errno;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    /* ALLOW_MULTI: programs of parent cgroups keep applying as well. */
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
    int e = errno;
    close(prog); /* the attachment holds the program */
    return rc < 0 ? -e : 0;
}

int sr_send_fd_to(const char *socket_path, int fd, const char *name) {
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(socket_path) >= sizeof addr.sun_path) return -ENAMETOOLONG;
    strcpy(addr.sun_path, socket_path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) { int e = errno; close(s); return -e; }
    ssize_t n = sr_send_with_fd(s, name, strlen(name), fd);
    int e = errno;
    close(s);
    return n < 0 ? -e : 0;
}

ssize_t sr_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}

int sr_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

#include <spawn.h>
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

int sr_flock(int fd, int op) { return flock(fd, op); }

#include <linux/mount.h>
/* Appends s to buf at *at with overlay's escapes (\\ before ':' ',' '\\'); 0 if it fits. */
static int opt_append(char *buf, size_t cap, size_t *at, const char *s, int escape) {
    for (; *s; s++) {
        if (escape && (*s == ':' || *s == ',' || *s == '\\')) {
            if (*at + 1 >= cap) return -1;
            buf[(*at)++] = '\\';
        }
        if (*at + 1 >= cap) return -1;
        buf[(*at)++] = *s;
    }
    buf[*at] = 0;
    return 0;
}

static int mount_overlay_legacy(const char *const *lower, int nlower, const char *upper, const char *work,
                                int target_fd, const char **step) {
    char data[4096], target[64];
    size_t at = 0;
    int bad = opt_append(data, sizeof data, &at, "lowerdir=", 0);
    for (int i = 0; i < nlower && !bad; i++)
        bad = (i && opt_append(data, sizeof data, &at, ":", 0)) || opt_append(data, sizeof data, &at, lower[i], 1);
    bad = bad || opt_append(data, sizeof data, &at, ",upperdir=", 0) || opt_append(data, sizeof data, &at, upper, 1) ||
          opt_append(data, sizeof data, &at, ",workdir=", 0) || opt_append(data, sizeof data, &at, work, 1);
    if (bad) { *step = "mount overlay (kernel < 6.8: the layer paths exceed a page of options)"; return -ENAMETOOLONG; }
    snprintf(target, sizeof target, "/proc/self/fd/%d", target_fd);
    if (syscall(SYS_mount, "overlay", target, "overlay", 0UL, data) < 0) { *step = "mount(2) overlay"; return -errno; }
    return 0;
}

/* overlayfs through the new mount API: fsopen, one fsconfig per layer ("lowerdir+", top
 * first: fsconfig strings are limited to 256 bytes, a joined lowerdir is not), then
 * fsmount and move_mount onto target_fd. On failure returns -errno and names the step
 * in *step. */
int sr_mount_overlay(const char *const *lower, int nlower, const char *upper, const char *work,
                     int target_fd, const char **step) {
    int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC), mnt = -1, err;
    if (fs < 0) { *step = "fsopen overlay"; return -errno; }
    for (int i = 0; i < nlower; i++)
        if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", lower[i], 0) < 0) { *step = "fsconfig lowerdir+"; goto fail; }
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0) { *step = "fsconfig upperdir"; goto fail; }
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0) { *step = "fsconfig workdir"; goto fail; }
    if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) { *step = "fsconfig create"; goto fail; }
    if ((mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0)) < 0) { *step = "fsmount"; goto fail; }
    if (syscall(SYS_move_mount, mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
        *step = "move_mount";
        goto fail;
    }
    close(mnt);
    close(fs);
    return 0;
fail:
    err = errno;
    if (mnt >= 0) close(mnt);
    close(fs);
    /* Kernels before 6.8 know no "lowerdir+": their overlay takes the options as one legacy
     * string and rejects it at create. mount(2) takes a page of options, fsconfig 256 bytes. */
    if (err == EINVAL && strcmp(*step, "fsconfig create") == 0)
        return mount_overlay_legacy(lower, nlower, upper, work, target_fd, step);
    return -err;
}

#include <sys/ioctl.h>
#include <termios.h>
/* Terminal helpers for `run -t` and `exec -t` (ioctl and termios are variadic or macro-heavy for Swift). */
int sr_winsize_get(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -errno;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int sr_winsize_set(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

static struct termios saved_termios;
static int saved_termios_fd = -1;

/* Raw mode on fd (the user's terminal): bytes such as ^C reach the container's pty, whose
 * line discipline turns them into signals. sr_tty_restore puts the saved mode back. */
int sr_tty_raw(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) < 0) return -errno;
    saved_termios = t;
    saved_termios_fd = fd;
    cfmakeraw(&t);
    return tcsetattr(fd, TCSADRAIN, &t) < 0 ? -errno : 0;
}

void sr_tty_restore(void) {
    if (saved_termios_fd >= 0) tcsetattr(saved_termios_fd, TCSADRAIN, &saved_termios);
    saved_termios_fd = -1;
}

#include <sys/vfs.h>
/* The filesystem magic of what is mounted at path (statfs f_type), or -errno. */
long long sr_fs_type(const char *path) {
    struct statfs s;
    return statfs(path, &s) == 0 ? (long long)(unsigned long)s.f_type : -errno;
}

#include <linux/openat2.h>
int sr_open_in_dir(int dirfd, const char *path) {
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    int fd;
    do fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
    return fd;
}

#include <linux/seccomp.h>
/* The agent's side of SCMP_ACT_NOTIFY (what the tests run at listenerPath): takes one
 * notification from the listener fd and answers it with -err, or with success and 0 when
 * err is 0. *nr gets the syscall number. Returns 0 or -errno. */
int sr_seccomp_answer(int listener, int err, int *nr) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return -errno;
    *nr = req.data.nr;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.error = -err;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) return -errno;
    return 0;
}

/* A user namespace holding an idmapped mount's mapping (uid_map/gid_map lines): a child
 * cloned into a new one waits on a pipe while we write its maps and open its namespace,
 * then exits. The child of this multithreaded process only makes raw syscalls, with every
 * signal blocked. Returns the namespace fd or -errno; *call names what failed. */
static int idmap_userns(const char *uidmap, const char *gidmap, const char **call) {
    int hold[2];
    *call = "pipe2";
    if (pipe2(hold, O_CLOEXEC) < 0) return -errno;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_NEWUSER;
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) {
        char b;
        raw(SYS_close, hold[1], 0, 0, 0, 0);
        raw(SYS_read, hold[0], (long)&b, 1, 0, 0); /* returns when the parent closes its write end */
        raw(SYS_exit, 0, 0, 0, 0, 0);
    }
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(hold[0]);
    if (pid < 0) { close(hold[1]); *call = "clone3 CLONE_NEWUSER"; return -e; }
    int rc = 0;
    const char *maps[2][2] = { { "uid_map", uidmap }, { "gid_map", gidmap } };
    char path[64];
    for (int i = 0; i < 2 && rc == 0; i++) {
        snprintf(path, sizeof path, "/proc/%ld/%s", pid, maps[i][0]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        size_t len = strlen(maps[i][1]);
        if (fd < 0 || write(fd, maps[i][1], len) != (ssize_t)len) { rc = -errno; *call = i ? "write gid_map" : "write uid_map"; }
        if (fd >= 0) close(fd);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
        rc = open(path, O_RDONLY | O_CLOEXEC);
        if (rc < 0) { rc = -errno; *call = "open the mapping's user namespace"; }
    }
    close(hold[1]);
    while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) {}
    return rc;
}

/* A bind mount of src, detached, for the container's init to attach: open_tree a clone,
 * set the mount attributes, then (with maps) MOUNT_ATTR_IDMAP with a user namespace holding
 * the mapping. Made here because only a process privileged over the source's filesystem
 * may idmap it, and a container's init in its own user namespace may not reach every
 * source. Returns the mount fd (CLOEXEC) or -errno; *call names the syscall that failed. */
int sr_detached_tree(const char *src, int recursive, uint64_t attr_set, uint64_t attr_clr,
                     const char *uidmap, const char *gidmap, const char **call) {
    unsigned rec = recursive ? AT_RECURSIVE : 0;
    *call = "open_tree";
    int mnt = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
    if (mnt < 0) return -errno;
    struct mount_attr a;
    memset(&a, 0, sizeof a);
    a.attr_set = attr_set;
    a.attr_clr = attr_clr;
    if ((attr_set || attr_clr) && syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH | rec, &a, sizeof a) < 0) {
        int e = errno;
        close(mnt);
        *call = "mount_setattr";
        return -e;
    }
    if (!uidmap || !gidmap) return mnt;
    int ns = idmap_userns(uidmap, gidmap, call);
    if (ns < 0) { close(mnt); return ns; }
    memset(&a, 0, sizeof a);
    a.attr_set = MOUNT_ATTR_IDMAP;
    a.userns_fd = (uint64_t)ns;
    if (syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH | rec, &a, sizeof a) < 0) {
        int e = errno;
        close(ns);
        close(mnt);
        *call = "mount_setattr MOUNT_ATTR_IDMAP (does the filesystem support idmapped mounts?)";
        return -e;
    }
    close(ns);
    return mnt;
}

/* What an idle process can give back without losing anything goes back to the kernel:
 * freed heap (malloc_trim), the pages of buffers whose content no longer matters, the
 * stack below this frame, and every page of a private file mapping that is still the
 * file's own page-cache page (code, read-only data, data never written). Startup and each
 * burst of work (a probe, a restart) touch megabytes of code and tables that a supervisor
 * then does not run for seconds or hours; the pages stay in the page cache (reclaimable
 * once nobody maps them) and come back by a minor fault, as after the kernel's own reclaim
 * of clean pages. /proc/self/pagemap says page by page: bit 61 is set for a page-cache page
 * and clear for the private copy a write (or a load-time relocation) made, which
 * MADV_DONTNEED would discard; only runs of present file pages are advised.
 * The caller blocks in ppoll right here: every instruction run between the release and the
 * wait would fault its code back (64 KiB at a time, the kernel's fault-around), so after the
 * first madvise only raw syscalls run. Main thread only: the stack trimmed is [stack]. */
static long drop_file_pages(int pagemap, unsigned long lo, unsigned long hi) {
    enum { CHUNK = 512 };
    uint64_t ent[CHUNK];
    long total = 0;
    unsigned long run = 0; /* start of the current run of droppable pages, 0: none */
    unsigned long a = lo;  /* pages below a were checked */
    while (a < hi) {
        size_t n = (hi - a) / 4096 < CHUNK ? (hi - a) / 4096 : CHUNK;
        long got = raw(SYS_pread64, pagemap, (long)ent, (long)(n * 8), (long)(a / 4096 * 8), 0);
        if (got <= 0) break;
        n = (size_t)got / 8;
        for (size_t i = 0; i < n; i++, a += 4096) {
            int droppable = (ent[i] >> 63 & 1) && (ent[i] >> 61 & 1);
            if (droppable && !run) run = a;
            if (!droppable && run) {
                if (raw(SYS_madvise, (long)run, (long)(a - run), MADV_DONTNEED, 0, 0) == 0) total += (long)(a - run);
                run = 0;
            }
        }
    }
    if (run && raw(SYS_madvise, (long)run, (long)(a - run), MADV_DONTNEED, 0, 0) == 0) total += (long)(a - run);
    return total;
}

/* The stack below the deepest frame is dead; a later use faults in zero pages. A small
 * frame of its own, so that its local marks (nearly) the stack pointer: the frames of the
 * madvise call itself go below it, in the two pages kept (with the red zone and room for a
 * signal frame). The caller's frames are all above. */
static long __attribute__((noinline)) trim_stack(unsigned long lo, unsigned long hi) {
    volatile char here = 0;
    unsigned long keep = (((unsigned long)&here) & ~4095UL) - 2 * 4096;
    if (keep <= lo || keep >= hi) return 0;
    return raw(SYS_madvise, (long)lo, (long)(keep - lo), MADV_DONTNEED, 0, 0) == 0 ? (long)(keep - lo) : 0;
}

/* Whether [p, end) starts with s (by hand: libc's string code is dropped by now). */
static int starts_with(const char *p, const char *end, const char *s) {
    for (; *s; p++, s++)
        if (p >= end || *p != *s) return 0;
    return 1;
}

static unsigned long hexnum(const char **p) {
    unsigned long v = 0;
    for (;; (*p)++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return v;
        v = v * 16 + (unsigned long)d;
    }
}

static long release_idle_memory(const struct iovec *scratch, int nscratch) {
    malloc_trim(0);
    /* The whole map first (a supervisor has ~50 mappings, ~5 KB), into pages of its own
     * that go when done (not the stack, whose pages would stay); stdio would run libc's
     * code again after its pages are gone. A longer map is released up to this much. */
    enum { MAPS_MAX = 32768 };
    char *maps = mmap(NULL, MAPS_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (maps == MAP_FAILED) return -errno;
    size_t len = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || pagemap < 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        if (pagemap >= 0) close(pagemap);
        munmap(maps, MAPS_MAX);
        return -e;
    }
    for (ssize_t n; len < MAPS_MAX && (n = read(fd, maps + len, MAPS_MAX - len)) > 0;) len += (size_t)n;
    close(fd);
    long total = 0;
    for (int i = 0; i < nscratch; i++) {
        unsigned long lo = ((unsigned long)scratch[i].iov_base + 4095) & ~4095UL;
        unsigned long hi = ((unsigned long)scratch[i].iov_base + scratch[i].iov_len) & ~4095UL;
        if (hi > lo && raw(SYS_madvise, (long)lo, (long)(hi - lo), MADV_DONTNEED, 0, 0) == 0) total += (long)(hi - lo);
    }
    unsigned long stack_lo = 0, stack_hi = 0;
    for (const char *p = maps, *end = maps + len; p < end;) {
        const char *eol = p;
        while (eol < end && *eol != '\n') eol++; /* by hand: libc's memchr is code dropped by now */
        if (eol == end) break; /* a line cut by the buffer's end */
        unsigned long lo = hexnum(&p);
        p++;
        unsigned long hi = hexnum(&p);
        const char *perms = p + 1;
        /* address perms offset dev inode path: the path starts after the fifth field */
        const char *q = perms;
        for (int field = 0; field < 4 && q < eol; field++) {
            while (q < eol && *q != ' ') q++;
            while (q < eol && *q == ' ') q++;
        }
        if (starts_with(q, eol, "[stack]")) {
            stack_lo = lo;
            stack_hi = hi;
        } else if (perms[3] == 'p' && q < eol && *q == '/') {
            total += drop_file_pages(pagemap, lo, hi); /* private file mappings only */
        }
        p = eol + 1;
    }
    raw(SYS_close, pagemap, 0, 0, 0, 0);
    raw(SYS_munmap, (long)maps, MAPS_MAX, 0, 0, 0);
    if (stack_lo) total += trim_stack(stack_lo, stack_hi);
    return total;
}

int sr_release_and_poll(struct pollfd *fds, unsigned long nfds, int timeout_ms, const struct iovec *scratch, int nscratch) {
    release_idle_memory(scratch, nscratch);
    struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000 };
    long r = raw(SYS_ppoll, (long)fds, (long)nfds, timeout_ms < 0 ? 0 : (long)&ts, 0, 8);
    return (int)r;
}
