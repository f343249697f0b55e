/* Syscalls and libraries Swift's Glibc module lacks, and the one place where a
 * Swift process clones a container: sr_spawn. */
#ifndef SR_SHIM_H
#define SR_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <signal.h>
#include <poll.h>
#include <sys/uio.h>
#include <seccomp.h>
#include <sys/capability.h>
#include "sr_protocol.h"
#include "sr_fdpass.h"
#include "sr_netlink.h"

/* What the clone child needs; everything is prepared by the parent because the
 * child of a multithreaded process may only make raw syscalls until execve. */
struct sr_spawn {
    uint64_t flags;        /* CLONE_NEW* */
    int cgroup_fd;         /* -1: stay in the caller's cgroup */
    int helper_fd;         /* sealed memfd holding swiftrun-init */
    int sync_fd;           /* child's end of the plan socketpair */
    int fifo_fd;           /* exec fifo opened O_RDWR, or -1 */
    int preserve_fds;      /* fds 3..3+n-1 pass through to the container */
    int extra_fd;          /* -1, or an fd the init gets as argv[3] (a pidfd for exec) */
    int wait_parent;       /* read one byte from sync_fd before execveat (user namespace:
                              the parent writes uid/gid maps first, or exec drops all caps) */
    int share_vm;          /* 1: CLONE_VM|CLONE_VFORK (ignored with wait_parent); 0: a plain
                              clone, for a caller that must stay awake if a freeze catches
                              the child before its exec */
    int stdio[3];          /* fds for the child's 0, 1, 2 (-1: inherit the caller's) */
    char *const *argv;     /* swiftrun-init's argv (names the final fd numbers) */
    char *const *envp;
};

/* Clones and execs swiftrun-init. Returns the pid (>0) and stores a pidfd, or -errno. */
int sr_spawn(const struct sr_spawn *s, int *pidfd_out);
/* The fd numbers sr_spawn gives sync, fifo and the extra fd in the child. */
int sr_spawn_sync_fd(int preserve_fds);
int sr_spawn_fifo_fd(int preserve_fds);
int sr_spawn_extra_fd(int preserve_fds);

int sr_pidfd_open(pid_t pid);
int sr_pidfd_send_signal(int pidfd, int sig);
/* waitid(P_PIDFD); returns 0 and the wait status in *status (exit code or 128+signal). */
int sr_pidfd_wait(int pidfd, int *code, int *signaled, int nohang);
int sr_memfd_create(const char *name, unsigned flags);
int sr_seal_memfd(int fd);
int sr_close_range(unsigned first, unsigned last, unsigned flags);
int sr_setns(int fd, int nstype);
int sr_socketpair_cloexec(int fds[2]);
int sr_open_cloexec(const char *path, int flags, int mode);
int sr_mkfifo(const char *path, int mode);
int sr_errno(void);
int sr_fcntl_setfd(int fd, int flags);
int sr_set_subreaper(void);
int sr_set_comm(const char *name);
int sr_set_nondumpable(void);
/* open(path, O_PATH [| O_CLOEXEC]): O_PATH is hidden from Swift (_GNU_SOURCE). */
int sr_open_path(const char *path, int cloexec);
/* execveat(fd, "", argv, envp, AT_EMPTY_PATH): returns only on failure (-1, errno). */
int sr_exec_fd(int fd, char *const argv[], char *const envp[]);
/* Copies a file into a sealed memfd (CVE-2019-5736: the container never sees our files). */
int sr_sealed_copy(const char *path, const char *name);
int sr_kill(pid_t pid, int sig);

/* Exports a libseccomp filter as BPF bytes; caller frees *buf. */
int sr_seccomp_export(scmp_filter_ctx ctx, void **buf, size_t *len);
int sr_seccomp_rule(scmp_filter_ctx ctx, uint32_t action, int syscall,
                    unsigned nargs, const unsigned *index, const int *op,
                    const uint64_t *value, const uint64_t *value_two);
/* Loads a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup (dir fd).
 * Returns 0, or -errno with the verifier's log in `log`. */
int sr_attach_device_filter(int cgroup_fd, const void *insns, size_t len, char *log, size_t log_len);
/* Reads exactly len bytes of one report; an fd sent with it (SCM_RIGHTS) lands in *fd (else -1).
 * Returns len, 0 on EOF before any byte, or -errno. */
int sr_winsize_get(int fd, unsigned short *rows, unsigned short *cols);
int sr_winsize_set(int fd, unsigned short rows, unsigned short cols);
int sr_tty_raw(int fd);
void sr_tty_restore(void);
int sr_release_and_poll(struct pollfd *fds, unsigned long nfds, int timeout_ms, const struct iovec *scratch, int nscratch);
long long sr_fs_type(const char *path);

/* Opens `path` for reading inside the directory dirfd: symlinks resolve inside it
 * (RESOLVE_IN_ROOT), so an image's links cannot point us at host files. */
int sr_open_in_dir(int dirfd, const char *path);
/* openat2 with `resolve` (RESOLVE_* bits), retried on EAGAIN; -1 with errno. */
int sr_openat2(int dirfd, const char *path, int flags, int mode, unsigned long long resolve);
/* Connects to a unix socket and sends `fd` with `name` as payload (runc's console protocol). */
int sr_send_fd_to(const char *socket_path, int fd, const char *name);
int sr_detached_tree(const char *src, int recursive, uint64_t attr_set, uint64_t attr_clr,
                     const char *uidmap, const char *gidmap, const char **call);
/* lgetxattr (the Glibc module lacks sys/xattr.h). */
ssize_t sr_lgetxattr(const char *path, const char *name, void *value, size_t size);
int sr_cap_from_name(const char *name);
int sr_cap_last(void);
const char *sr_signal_name(int sig);

/* pipe2(O_CLOEXEC). */
int sr_pipe_cloexec(int fds[2]);
/* posix_spawn (safe from a multithreaded process): fds[i] (n of them, all >= 0) become the
 * child's fd i, everything else is closed, signals are reset; new_session: setsid.
 * Returns 0 or an errno. */
int sr_posix_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int n,
                   int new_session, pid_t *pid);
int sr_flock(int fd, int op);

/* overlayfs by the new mount API onto target_fd (a directory fd); lower: top layer first.
 * Returns 0, or -errno with the failing step in *step. */
int sr_mount_overlay(const char *const *lower, int nlower, const char *upper, const char *work,
                     int target_fd, const char **step);

#endif
