#define _GNU_SOURCE
#include "internal.h"

/* Files and fds: CLOEXEC opens, pipes and socket pairs, O_PATH, a path resolved inside a
 * directory (openat2 RESOLVE_IN_ROOT), fd passing to a console socket, flock, xattrs. */
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/xattr.h>

int sr_socketpair_cloexec(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }
int sr_open_cloexec(const char *path, int flags, int mode) { return open(path, flags | O_CLOEXEC, mode); }
int sr_mkfifo(const char *path, int mode) { return mkfifo(path, (mode_t)mode); }
int sr_errno(void) { return errno; }
int sr_fcntl_setfd(int fd, int flags) { return fcntl(fd, F_SETFD, flags); }
int sr_open_path(const char *path, int cloexec) { return open(path, O_PATH | (cloexec ? O_CLOEXEC : 0)); }

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

int sr_flock(int fd, int op) { return flock(fd, op); }

/* The filesystem magic of what is mounted at path (statfs f_type), or -errno. */
long long sr_fs_type(const char *path) {
    struct statfs s;
    return statfs(path, &s) == 0 ? (long long)(unsigned long)s.f_type : -errno;
}

#include <linux/openat2.h>
int sr_openat2(int dirfd, const char *path, int flags, int mode, unsigned long long resolve) {
    /* A mode without O_CREAT is EINVAL for openat2 (open ignores it). */
    struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC, .mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? (uint64_t)mode : 0, .resolve = resolve };
    int fd;
    do fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
    return fd;
}

int sr_open_in_dir(int dirfd, const char *path) {
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    int fd;
    do fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
    return fd;
}

