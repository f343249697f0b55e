/* swiftrun-init: the first program of every container.
 *
 * The runtime clones this process into the new namespaces (and cgroup) and execs
 * it from a sealed memfd, so it starts single-threaded with a fresh libc: unlike
 * the clone child of the Swift process it may allocate and use stdio. It reads
 * the plan (sr_protocol.h) from the sync fd, runs it, reports READY, waits on the
 * exec fifo for `start`, and execs the container's process.
 *
 * Built static by the Makefile: it runs before and after pivot_root, when the
 * container's rootfs may have no dynamic loader.
 *
 * Usage (from the runtime only): swiftrun-init SYNC_FD FIFO_FD
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <termios.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <grp.h>
#include <net/if.h>
#include <time.h>
#include <unistd.h>

#include "sr_fdpass.h"
#include "sr_protocol.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

struct arg { const char *p; uint32_t len; };
struct op { uint16_t code, argc; struct arg *args; };

static int sync_fd = -1, fifo_fd = -1, root_fd = -1, join_fd = -1;
static uint32_t cur_op;
static char exec_path[PATH_MAX];

/* ---- reporting ---------------------------------------------------------------- */

static int32_t report_pid;

static void send_report(uint32_t kind, int err, const char *step, const char *call, const char *path) {
    struct sr_report r;
    memset(&r, 0, sizeof r);
    r.pid = report_pid;
    r.kind = kind;
    r.err = err;
    r.op = cur_op;
    if (step) snprintf(r.step, sizeof r.step, "%s", step);
    if (call) snprintf(r.call, sizeof r.call, "%s", call);
    if (path) snprintf(r.path, sizeof r.path, "%s", path);
    if (sync_fd >= 0) {
        ssize_t n;
        do n = write(sync_fd, &r, sizeof r); while (n < 0 && errno == EINTR);
    } else {
        fprintf(stderr, "swiftrun-init: %s: %s %s: %s\n", step, call, path ? path : "", strerror(err));
    }
}

static void __attribute__((noreturn)) fail(const char *step, const char *call, const char *path) {
    send_report(SR_REPORT_ERROR, errno, step, call, path);
    _exit(1);
}

/* ---- plan decoding -------------------------------------------------------------- */

static int read_full(int fd, void *buf, size_t len) {
    char *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *S(const struct op *o, unsigned i) { return i < o->argc ? o->args[i].p : ""; }
static int64_t I(const struct op *o, unsigned i) {
    int64_t v = 0;
    if (i < o->argc && o->args[i].len == 8) memcpy(&v, o->args[i].p, 8);
    return v;
}

static struct op *read_plan(uint32_t *count) {
    uint32_t hdr[3];
    if (read_full(sync_fd, hdr, sizeof hdr) < 0) _exit(1); /* the runtime went away */
    if (hdr[0] != SR_PLAN_MAGIC || hdr[2] > SR_PLAN_MAX) { errno = EPROTO; fail("read plan", "read", NULL); }
    char *buf = malloc(hdr[2] + 1);
    if (!buf || read_full(sync_fd, buf, hdr[2]) < 0) { errno = EPROTO; fail("read plan", "read", NULL); }
    struct op *ops = calloc(hdr[1] ? hdr[1] : 1, sizeof *ops);
    char *p = buf, *end = buf + hdr[2];
    for (uint32_t i = 0; i < hdr[1]; i++) {
        if (end - p < 4) goto bad;
        memcpy(&ops[i].code, p, 2);
        memcpy(&ops[i].argc, p + 2, 2);
        p += 4;
        ops[i].args = calloc(ops[i].argc ? ops[i].argc : 1, sizeof(struct arg));
        for (unsigned a = 0; a < ops[i].argc; a++) {
            uint32_t len;
            if (end - p < 4) goto bad;
            memcpy(&len, p, 4);
            p += 4;
            if ((size_t)(end - p) < (size_t)len + 1 || p[len] != 0) goto bad;
            ops[i].args[a].p = p;
            ops[i].args[a].len = len;
            p += len + 1;
        }
    }
    *count = hdr[1];
    return ops;
bad:
    errno = EPROTO;
    fail("decode plan", "read", NULL);
}

/* ---- paths inside the rootfs ------------------------------------------------------- */

static int openat2_(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    int fd;
    do fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
    return fd;
}

/* Opens PATH inside the rootfs, creating missing directories (and the last component
 * as a file when AS_FILE). Every step resolves with RESOLVE_IN_ROOT, so symlinks in
 * the image cannot lead outside it (CVE-2021-30465: no string paths to mount on). */
static int open_in_root(const char *path, int create, int as_file, uint64_t extra_resolve) {
    uint64_t resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve;
    int fd = openat2_(root_fd, path, O_PATH | O_CLOEXEC, 0, resolve);
    if (fd >= 0 || errno != ENOENT || !create) return fd;

    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) { errno = ENAMETOOLONG; return -1; }
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/') buf[--len] = 0;
    int hops = 0;
    /* Walk prefixes, creating each missing directory from its parent's fd. A dangling
     * symlink on the way (an image's /etc/mtab -> ../proc/self/mounts, a test's
     * /etc/x -> ../foo/bar) is followed as the kernel would, inside the root: the walk
     * restarts on its target, and what is missing there is made (as runc and crun do). */
    for (char *s = buf; ; ) {
        while (*s == '/') s++;
        char *slash = strchr(s, '/');
        int last = slash == NULL;
        if (slash) *slash = 0;
        int cfd = openat2_(root_fd, buf, O_PATH | O_CLOEXEC, 0, resolve);
        if (cfd < 0 && errno == ENOENT) {
            char *name = strrchr(buf, '/');
            char parent[PATH_MAX];
            const char *leaf = name ? name + 1 : buf;
            if (name && name != buf) { memcpy(parent, buf, (size_t)(name - buf)); parent[name - buf] = 0; }
            else strcpy(parent, "/");
            int pfd = openat2_(root_fd, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, resolve);
            if (pfd < 0) return -1;
            int r;
            if (last && as_file) {
                r = openat(pfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (r >= 0) close(r);
            } else {
                r = mkdirat(pfd, leaf, 0755);
            }
            if (r < 0 && errno == EEXIST && !(extra_resolve & RESOLVE_NO_SYMLINKS)) {
                char target[PATH_MAX], next[PATH_MAX];
                ssize_t n = readlinkat(pfd, leaf, target, sizeof target - 1);
                if (n > 0) {
                    close(pfd);
                    target[n] = 0;
                    if (++hops > 40) { errno = ELOOP; return -1; }
                    const char *rest = last ? "" : slash + 1;
                    int w = target[0] == '/' ? snprintf(next, sizeof next, "%s%s%s", target, *rest ? "/" : "", rest)
                                             : snprintf(next, sizeof next, "%s/%s%s%s", parent, target, *rest ? "/" : "", rest);
                    if (w < 0 || w >= (int)sizeof next) { errno = ENAMETOOLONG; return -1; }
                    memcpy(buf, next, (size_t)w + 1);
                    s = buf;
                    continue;
                }
                errno = EEXIST;
            }
            close(pfd);
            if (r < 0 && errno != EEXIST) return -1;
            cfd = openat2_(root_fd, buf, O_PATH | O_CLOEXEC, 0, resolve);
        }
        if (cfd < 0) return -1;
        if (last) return cfd;
        close(cfd);
        *slash = '/';
        s = slash + 1;
    }
}

/* ---- mounts (new mount API: everything by fd) --------------------------------------- */

static int fsopen_(const char *fs) { return (int)syscall(SYS_fsopen, fs, FSOPEN_CLOEXEC); }
static int fsconfig_(int fd, unsigned cmd, const char *key, const void *val, int aux) {
    return (int)syscall(SYS_fsconfig, fd, cmd, key, val, aux);
}
static int fsmount_(int fd, unsigned attrs) { return (int)syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs); }
static int move_mount_(int from, int to) {
    return (int)syscall(SYS_move_mount, from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}
static int open_tree_(int dirfd, const char *path, unsigned flags) {
    return (int)syscall(SYS_open_tree, dirfd, path, flags | OPEN_TREE_CLOEXEC);
}
static int mount_setattr_(int fd, unsigned flags, uint64_t set, uint64_t clr, uint64_t prop) {
    struct mount_attr a = { .attr_set = set, .attr_clr = clr, .propagation = prop };
    return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | flags, &a, sizeof a);
}

static void op_mount(const struct op *o) {
    int64_t kind = I(o, 0);
    const char *src = S(o, 1), *dst = S(o, 2), *fstype = S(o, 3);
    uint64_t set = (uint64_t)I(o, 4), clr = (uint64_t)I(o, 5), prop = (uint64_t)I(o, 6);
    uint64_t flags = (uint64_t)I(o, 7);
    char step[64];
    snprintf(step, sizeof step, "mount %s", kind == SR_MNT_KIND_BIND ? "bind" : fstype);

    int mnt;
    int as_file = 0;
    if (kind == SR_MNT_KIND_BIND && (flags & SR_MNT_PREMADE)) {
        /* Made by the runtime in the host's user namespace (Runtime.premadeTrees): an
         * idmapped tree, or any bind of a container with its own user namespace. It
         * arrives detached, with its attributes set, and only needs attaching. */
        char b;
        ssize_t n = sr_recv_exact(sync_fd, &b, 1, &mnt);
        if (n != 1 || mnt < 0) {
            if (mnt >= 0) close(mnt);
            errno = n < 0 ? (int)-n : EPROTO;
            fail(step, "recvmsg (the premade mount from the runtime)", src);
        }
        struct stat st;
        if (fstat(mnt, &st) < 0) fail(step, "fstat", src);
        as_file = !S_ISDIR(st.st_mode);
    } else if (kind == SR_MNT_KIND_BIND) {
        mnt = open_tree_(AT_FDCWD, src, OPEN_TREE_CLONE | ((flags & SR_MNT_RECURSIVE) ? AT_RECURSIVE : 0));
        if (mnt < 0) fail(step, "open_tree", src);
        struct stat st;
        if (fstat(mnt, &st) < 0) fail(step, "fstat", src);
        as_file = !S_ISDIR(st.st_mode);
        if ((set || clr) && mount_setattr_(mnt, (flags & SR_MNT_RECURSIVE) ? AT_RECURSIVE : 0, set, clr, 0) < 0)
            fail(step, "mount_setattr", src);
    } else {
        int fs = fsopen_(fstype);
        if (fs < 0) fail(step, "fsopen", fstype);
        if (*src && fsconfig_(fs, FSCONFIG_SET_STRING, "source", src, 0) < 0) fail(step, "fsconfig source", src);
        for (unsigned i = 8; i + 1 < o->argc; i += 2) {
            const char *k = S(o, i), *v = S(o, i + 1);
            int r = o->args[i + 1].len ? fsconfig_(fs, FSCONFIG_SET_STRING, k, v, 0)
                                       : fsconfig_(fs, FSCONFIG_SET_FLAG, k, NULL, 0);
            if (r < 0) fail(step, "fsconfig", k);
        }
        if (fsconfig_(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) fail(step, "fsconfig create", dst);
        mnt = fsmount_(fs, (unsigned)set);
        if (mnt < 0) fail(step, "fsmount", dst);
        close(fs);
    }
    int target = open_in_root(dst, 1, as_file, (flags & SR_MNT_NO_SYMLINKS) ? RESOLVE_NO_SYMLINKS : 0);
    if (target < 0) {
        /* CVE-2019-16884 / CVE-2019-19921: a symlinked /proc must not redirect the mount. */
        if (errno == ELOOP) {
            char why[96];
            snprintf(why, sizeof why, "%s (destination is a symlink)", step);
            fail(why, "openat2", dst);
        }
        fail(step, "openat2", dst);
    }
    if (move_mount_(mnt, target) < 0) fail(step, "move_mount", dst);
    /* mount_attr.propagation takes one MS_* type; "r" (MS_REC) is AT_RECURSIVE here. */
    if (prop && mount_setattr_(mnt, (prop & MS_REC) ? AT_RECURSIVE : 0, 0, 0, prop & ~(uint64_t)MS_REC) < 0)
        fail(step, "mount_setattr propagation", dst);
    close(target);
    close(mnt);
}

/* CVE-2025-31133: mask with the host's /dev/null, verified by device number, never
 * with whatever the image put at /dev/null. */
static int devnull_tree(void) {
    int fd = open_tree_(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE);
    if (fd < 0) fail("mask", "open_tree", "/dev/null");
    struct stat st;
    if (fstat(fd, &st) < 0) fail("mask", "fstat", "/dev/null");
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
        errno = EPERM;
        fail("mask: /dev/null is not the 1:3 character device", "fstat", "/dev/null");
    }
    return fd;
}

static void op_mask(const struct op *o) {
    const char *path = S(o, 0);
    int t = open_in_root(path, 0, 0, RESOLVE_NO_SYMLINKS);
    if (t < 0) {
        if (errno == ENOENT) return;
        fail("mask", "openat2", path);
    }
    struct stat st;
    if (fstat(t, &st) < 0) fail("mask", "fstat", path);
    int mnt;
    if (S_ISDIR(st.st_mode)) {
        int fs = fsopen_("tmpfs");
        if (fs < 0 || fsconfig_(fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0 ||
            fsconfig_(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
            fail("mask", "fsopen tmpfs", path);
        mnt = fsmount_(fs, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        close(fs);
    } else {
        mnt = devnull_tree();
    }
    if (mnt < 0) fail("mask", "fsmount", path);
    if (move_mount_(mnt, t) < 0) fail("mask", "move_mount", path);
    close(mnt);
    close(t);
}

static void op_readonly(const struct op *o) {
    const char *path = S(o, 0);
    int t = open_in_root(path, 0, 0, RESOLVE_NO_SYMLINKS);
    if (t < 0) {
        if (errno == ENOENT) return;
        fail("readonly path", "openat2", path);
    }
    int mnt = open_tree_(t, "", OPEN_TREE_CLONE | AT_RECURSIVE | AT_EMPTY_PATH);
    if (mnt < 0) fail("readonly path", "open_tree", path);
    if (mount_setattr_(mnt, AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0) < 0)
        fail("readonly path", "mount_setattr", path);
    if (move_mount_(mnt, t) < 0) fail("readonly path", "move_mount", path);
    close(mnt);
    close(t);
}

/* "/a/b/c" → "/a/b" and "c"; "/c" → "/" and "c". */
static void split_path(const char *path, char dir[PATH_MAX], char leaf[NAME_MAX + 1]) {
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (strlen(name) > NAME_MAX || !*name) { errno = EINVAL; fail("split path", "", path); }
    strcpy(leaf, name);
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n == 0) strcpy(dir, "/");
    else { memcpy(dir, path, n); dir[n] = 0; }
}

static void bind_host_device(const char *path, mode_t mode, dev_t dev) {
    int src = open_tree_(AT_FDCWD, path, OPEN_TREE_CLONE);
    if (src < 0) fail("bind host device (mknod refused)", "open_tree", path);
    struct stat st;
    if (fstat(src, &st) < 0) fail("bind host device", "fstat", path);
    if ((st.st_mode & S_IFMT) != (mode & S_IFMT) || st.st_rdev != dev) {
        errno = ENODEV;
        fail("bind host device: host node differs", "fstat", path);
    }
    int t = open_in_root(path, 1, 1, 0);
    if (t < 0) fail("bind host device", "openat2", path);
    if (move_mount_(src, t) < 0) fail("bind host device", "move_mount", path);
    close(t);
    close(src);
}

static void op_mkdev(const struct op *o) {
    const char *path = S(o, 0);
    mode_t mode = (mode_t)I(o, 1);
    dev_t dev = makedev((unsigned)I(o, 2), (unsigned)I(o, 3));
    char dir[PATH_MAX], leaf[NAME_MAX + 1];
    split_path(path, dir, leaf);
    int pfd = open_in_root(dir, 1, 0, 0);
    if (pfd < 0) fail("create device", "openat2", path);
    int dfd = openat(pfd, ".", O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) fail("create device", "openat", path);
    if (mknodat(dfd, leaf, mode, dev) < 0) {
        if (errno == EEXIST) {
            struct stat st;
            if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == (mode & S_IFMT) &&
                st.st_rdev == dev)
                goto own;
            /* Whatever the image left there (a symlink to the host?) is replaced. */
            if (unlinkat(dfd, leaf, 0) < 0 || mknodat(dfd, leaf, mode, dev) < 0) fail("create device", "mknodat", path);
        } else if (errno == EPERM) {
            /* In a user namespace mknod is refused: bind the host's node instead,
             * after checking it is the device the spec asks for. */
            close(dfd);
            close(pfd);
            bind_host_device(path, mode, dev);
            return;
        } else {
            fail("create device", "mknodat", path);
        }
    }
    if (fchmodat(dfd, leaf, mode & 07777, 0) < 0) fail("create device", "fchmodat", path);
own:
    if (fchownat(dfd, leaf, (uid_t)I(o, 4), (gid_t)I(o, 5), AT_SYMLINK_NOFOLLOW) < 0)
        fail("create device", "fchownat", path);
    close(dfd);
    close(pfd);
}

static void op_symlink(const struct op *o) {
    const char *target = S(o, 0), *path = S(o, 1);
    char dir[PATH_MAX], leaf[NAME_MAX + 1];
    split_path(path, dir, leaf);
    int pfd = open_in_root(dir, 1, 0, 0);
    if (pfd < 0) fail("create symlink", "openat2", path);
    int dfd = openat(pfd, ".", O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (symlinkat(target, dfd, leaf) < 0 && errno != EEXIST)) fail("create symlink", "symlinkat", path);
    close(dfd);
    close(pfd);
}

static void op_pivot(void) {
    if (fchdir(root_fd) < 0) fail("pivot_root", "fchdir", "rootfs");
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail("pivot_root", "pivot_root", ".");
    /* The old root now sits under the new one: make sure unmounting it cannot
     * propagate to the host, then detach it. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) fail("pivot_root", "mount MS_SLAVE", "old root");
    if (umount2(".", MNT_DETACH) < 0) fail("pivot_root", "umount2", "old root");
    if (chdir("/") < 0) fail("pivot_root", "chdir", "/");
    close(root_fd);
    root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) fail("pivot_root", "open", "/");
}

/* Writes into the container's procfs only: CVE-2019-16884, CVE-2025-52565. The
 * directory is checked to be procfs and nothing below it may be a link or mount. */
static void write_proc(const char *step, const char *rel, const char *value) {
    int proc = open_in_root("/proc", 0, 0, RESOLVE_NO_SYMLINKS);
    if (proc < 0) fail(step, "openat2", "/proc");
    struct statfs sf;
    if (fstatfs(proc, &sf) < 0) fail(step, "fstatfs", "/proc");
    if (sf.f_type != PROC_SUPER_MAGIC) { errno = EXDEV; fail("/proc is not procfs", "fstatfs", "/proc"); }
    int fd = openat2_(proc, rel, O_WRONLY | O_CLOEXEC, 0,
                      RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
    if (fd < 0) fail(step, "openat2", rel);
    size_t len = strlen(value);
    if (write(fd, value, len) != (ssize_t)len) fail(step, "write", rel);
    close(fd);
    close(proc);
}

static void op_sysctl(const struct op *o) {
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "sys/%s", S(o, 0));
    for (char *c = rel + 4; *c; c++)
        if (*c == '.') *c = '/';
    write_proc("sysctl", rel, S(o, 1));
}

static void op_seccomp(const struct op *o) {
    struct sock_fprog prog = {
        .len = (unsigned short)(o->args[0].len / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)(uintptr_t)o->args[0].p,
    };
    /* The bytes sit at an arbitrary offset in the plan: align them. */
    void *copy = malloc(o->args[0].len ? o->args[0].len : 1);
    memcpy(copy, o->args[0].p, o->args[0].len);
    prog.filter = copy;
    unsigned flags = (unsigned)I(o, 1);
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (fd < 0) fail("seccomp", "seccomp", NULL);
    free(copy);
    if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
        /* The notify fd goes to the runtime, which hands it to linux.seccomp.listenerPath,
         * right away: from here on a notified syscall waits for that agent. It is CLOEXEC
         * and closed here, so the container never holds it. (sendmsg is never notified:
         * the runtime refuses such a profile.) */
        struct sr_report r;
        memset(&r, 0, sizeof r);
        r.kind = SR_REPORT_SECCOMP;
        r.op = cur_op;
        if (sr_send_with_fd(sync_fd, &r, sizeof r, (int)fd) != (ssize_t)sizeof r)
            fail("send the seccomp listener", "sendmsg", NULL);
        close((int)fd);
    }
}

/* Root of the user namespace we are now in (joined, or made by unshare and mapped by the
 * runtime). setgroups may be denied in a joined one: the list then stays empty anyway. */
static void become_userns_root(const char *step, const char *path) {
    if (setgroups(0, NULL) < 0 && errno != EPERM) fail(step, "setgroups", path);
    if (setresgid(0, 0, 0) < 0) fail(step, "setresgid (is gid 0 mapped in it?)", path);
    if (setresuid(0, 0, 0) < 0) fail(step, "setresuid (is uid 0 mapped in it?)", path);
}

static int cap_last(void) {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    char b[16] = {0};
    if (fd >= 0) { ssize_t n = read(fd, b, sizeof b - 1); (void)n; close(fd); }
    return b[0] ? atoi(b) : 40;
}

static void op_cap_bounding(const struct op *o, int last) {
    uint64_t keep = (uint64_t)I(o, 0);
    for (int c = 0; c <= last; c++)
        if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            fail("drop bounding capabilities", "prctl PR_CAPBSET_DROP", NULL);
}

static void op_user(const struct op *o) {
    uid_t uid = (uid_t)I(o, 0);
    gid_t gid = (gid_t)I(o, 1);
    size_t n = o->argc > 2 ? o->argc - 2 : 0;
    gid_t groups[n ? n : 1];
    for (size_t i = 0; i < n; i++) groups[i] = (gid_t)I(o, (unsigned)(2 + i));
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("set user", "prctl PR_SET_KEEPCAPS", NULL);
    if (setgroups(n, groups) < 0) fail("set user", "setgroups", NULL);
    if (setresgid(gid, gid, gid) < 0) fail("set user", "setresgid", NULL);
    if (setresuid(uid, uid, uid) < 0) fail("set user", "setresuid", NULL);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("set user", "prctl PR_SET_KEEPCAPS", NULL);
}

static void op_caps(const struct op *o, int last) {
    uint64_t eff = (uint64_t)I(o, 0), perm = (uint64_t)I(o, 1), inh = (uint64_t)I(o, 2), amb = (uint64_t)I(o, 3);
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2] = {
        { .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
        { .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32) },
    };
    if (syscall(SYS_capset, &h, d) < 0) fail("set capabilities", "capset", NULL);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        fail("set capabilities", "prctl PR_CAP_AMBIENT_CLEAR_ALL", NULL);
    for (int c = 0; c <= last; c++)
        if ((amb & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            fail("set ambient capabilities", "prctl PR_CAP_AMBIENT_RAISE", NULL);
}

/* CVE-2024-21626: the cwd must be inside the container's root; a leaked host fd as
 * cwd shows up as "(unreachable)" or as a getcwd error. */
static void op_chdir(const struct op *o) {
    const char *cwd = S(o, 0);
    if (chdir(cwd) < 0) fail("change to the working directory", "chdir", cwd);
    char buf[PATH_MAX];
    if (!getcwd(buf, sizeof buf) || buf[0] != '/') {
        errno = EPERM;
        fail("working directory is outside the container", "getcwd", cwd);
    }
}

static int is_exec_file(const char *p, int *eacces) {
    struct stat st;
    if (stat(p, &st) < 0) return 0;
    if (S_ISDIR(st.st_mode)) { *eacces = 1; return 0; }
    if (access(p, X_OK) < 0) { *eacces = 1; return 0; }
    return 1;
}

static void op_lookup(const struct op *o) {
    const char *file = S(o, 0), *path = S(o, 1);
    int eacces = 0;
    if (!*file) { errno = ENOENT; send_report(SR_REPORT_NOT_FOUND, ENOENT, "look up the executable", "execve", ""); _exit(127); }
    if (strchr(file, '/')) {
        snprintf(exec_path, sizeof exec_path, "%s", file);
        if (is_exec_file(file, &eacces)) return;
    } else {
        const char *p = *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        while (*p) {
            const char *colon = strchr(p, ':');
            size_t dl = colon ? (size_t)(colon - p) : strlen(p);
            snprintf(exec_path, sizeof exec_path, "%.*s/%s", (int)dl, dl ? p : ".", file);
            if (is_exec_file(exec_path, &eacces)) return;
            p += dl + (colon ? 1 : 0);
        }
    }
    if (eacces) {
        send_report(SR_REPORT_NOT_EXEC, EACCES, "look up the executable", "execve", file);
        _exit(126);
    }
    send_report(SR_REPORT_NOT_FOUND, ENOENT, "look up the executable", "execve", file);
    _exit(127);
}

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif

/* A pty from the container's own devpts. The peer is opened from the master by ioctl,
 * never by path, and bound onto /dev/console by fd (CVE-2025-52565). The master goes to
 * the runtime over the sync socket. */
static void op_console(const struct op *o) {
    int master = openat2_(root_fd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0,
                          RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (master < 0) fail("create the console (is /dev/pts mounted?)", "openat2", "/dev/pts/ptmx");
    struct statfs sf;
    if (fstatfs(master, &sf) < 0 || sf.f_type != DEVPTS_SUPER_MAGIC) {
        errno = EXDEV;
        fail("create the console: /dev/pts is not devpts", "fstatfs", "/dev/pts/ptmx");
    }
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail("create the console", "ioctl TIOCSPTLCK", "/dev/pts/ptmx");
    int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (peer < 0) fail("create the console", "ioctl TIOCGPTPEER", "/dev/pts/ptmx");
    struct winsize ws = { .ws_row = (unsigned short)I(o, 0), .ws_col = (unsigned short)I(o, 1) };
    if (ws.ws_row && ws.ws_col && ioctl(peer, TIOCSWINSZ, &ws) < 0) fail("create the console", "ioctl TIOCSWINSZ", NULL);
    if (I(o, 2)) {
        int tree = open_tree_(peer, "", OPEN_TREE_CLONE | AT_EMPTY_PATH);
        if (tree < 0) fail("bind the console", "open_tree", "/dev/console");
        int t = open_in_root("/dev/console", 1, 1, RESOLVE_NO_SYMLINKS);
        if (t < 0) fail("bind the console", "openat2", "/dev/console");
        if (move_mount_(tree, t) < 0) fail("bind the console", "move_mount", "/dev/console");
        close(t);
        close(tree);
    }
    struct sr_report r;
    memset(&r, 0, sizeof r);
    r.kind = SR_REPORT_CONSOLE;
    r.op = cur_op;
    if (sr_send_with_fd(sync_fd, &r, sizeof r, master) != (ssize_t)sizeof r) fail("send the console", "sendmsg", NULL);
    close(master);
    if (setsid() < 0) fail("create the console", "setsid", NULL);
    if (ioctl(peer, TIOCSCTTY, 0) < 0) fail("create the console", "ioctl TIOCSCTTY", NULL);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(peer, fd) < 0) fail("create the console", "dup2", NULL);
    if (peer > 2) close(peer);
}

static void op_wait_start(void) {
    if (fifo_fd < 0) return;
    char c;
    ssize_t n;
    do n = read(fifo_fd, &c, 1); while (n < 0 && errno == EINTR);
    if (n != 1) fail("wait for start", "read", "exec.fifo");
    close(fifo_fd);
    fifo_fd = -1;
}

static void op_hook(const struct op *o) {
    const char *path = S(o, 0), *input = S(o, 1);
    int64_t timeout = I(o, 2), argc = I(o, 3);
    if (argc < 0 || argc + 4 > o->argc) { errno = EPROTO; fail("run hook", "decode", path); }
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    char **envp = calloc((size_t)(o->argc - 4 - argc) + 1, sizeof *envp);
    for (int64_t i = 0; i < argc; i++) argv[i] = (char *)S(o, (unsigned)(4 + i));
    for (unsigned i = (unsigned)(4 + argc), j = 0; i < o->argc; i++, j++) envp[j] = (char *)S(o, i);
    if (argc == 0) { argv[0] = (char *)path; argv[1] = NULL; }
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) fail("run hook", "pipe2", path);
    pid_t pid = fork();
    if (pid < 0) fail("run hook", "fork", path);
    if (pid == 0) {
        dup2(in[0], 0);
        execve(path, argv, envp);
        _exit(127);
    }
    close(in[0]);
    size_t len = strlen(input);
    signal(SIGPIPE, SIG_IGN);
    if (write(in[1], input, len) < 0) { /* a hook may ignore its stdin */ }
    close(in[1]);
    signal(SIGPIPE, SIG_DFL);
    int status = 0;
    time_t deadline = timeout > 0 ? time(NULL) + timeout : 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, deadline ? WNOHANG : 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) fail("run hook", "waitpid", path);
        if (deadline && time(NULL) >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            errno = ETIMEDOUT;
            fail("run hook (timed out)", "waitpid", path);
        }
        if (deadline) { struct timespec ts = { 0, 10000000 }; nanosleep(&ts, NULL); }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errno = ECHILD;
        fail("run hook (it failed)", "execve", path);
    }
}

/* HOME, when the process has none: the user's entry in the container's /etc/passwd
 * (we run after pivot_root, so this is the image's file), else "/" (as runc and crun). */
static char *home_env(void) {
    static char buf[PATH_MAX + 8];
    const char *home = "/";
    char line[1024];
    FILE *f = fopen("/etc/passwd", "re");
    uid_t uid = getuid();
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *fields[7] = {0};
            int n = 0;
            for (char *p = line, *tok; n < 7 && (tok = strsep(&p, ":\n")); ) fields[n++] = tok;
            if (n >= 6 && fields[2] && (uid_t)strtoul(fields[2], NULL, 10) == uid && fields[5][0]) {
                snprintf(buf, sizeof buf, "HOME=%s", fields[5]);
                fclose(f);
                return buf;
            }
        }
        fclose(f);
    }
    snprintf(buf, sizeof buf, "HOME=%s", home);
    return buf;
}

static int reaper;

/* --init: PID 1 of the container stays, as tini does: every orphan that exits is reaped
 * (no zombies), every signal it can catch goes to the process, and it exits with the
 * process's status (128+N when a signal N ended it). Holds no fd of the runtime's. */
static void __attribute__((noreturn)) reap_forever(pid_t child, const sigset_t *all) {
    if (sync_fd >= 0) close(sync_fd);
    if (fifo_fd >= 0) close(fifo_fd);
    if (root_fd >= 0) close(root_fd);
    prctl(PR_SET_NAME, "swiftrun-init", 0, 0, 0);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(all, &si);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
            if (p == child) _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        }
    }
}

static void __attribute__((noreturn)) op_exec(const struct op *o) {
    int64_t argc = I(o, 0);
    if (argc < 1 || argc + 1 > o->argc) { errno = EPROTO; fail("exec", "decode", NULL); }
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    char **envp = calloc((size_t)(o->argc - 1 - argc) + 2, sizeof *envp);
    int has_home = 0;
    unsigned j = 0;
    for (int64_t i = 0; i < argc; i++) argv[i] = (char *)S(o, (unsigned)(1 + i));
    for (unsigned i = (unsigned)(1 + argc); i < o->argc; i++, j++) {
        envp[j] = (char *)S(o, i);
        if (strncmp(envp[j], "HOME=", 5) == 0) has_home = 1;
    }
    if (!has_home) envp[j] = home_env();
    if (reaper) {
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &old);
        pid_t child = fork();
        if (child < 0) fail("start the process under --init", "fork", NULL);
        if (child > 0) reap_forever(child, &all);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    execve(exec_path, argv, envp);
    int e = errno;
    /* After start nobody listens on the sync fd: say it on the container's stderr. */
    fprintf(stderr, "swiftrun: exec %s: %s\n", exec_path, strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "swiftrun-init is started by swiftrun only\n");
        return 125;
    }
    sync_fd = atoi(argv[1]);
    fifo_fd = atoi(argv[2]);
    if (fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0) return 125;
    if (fifo_fd >= 0 && fcntl(fifo_fd, F_SETFD, FD_CLOEXEC) < 0) fifo_fd = -1;
    if (argc > 3 && (join_fd = atoi(argv[3])) >= 0 && fcntl(join_fd, F_SETFD, FD_CLOEXEC) < 0) join_fd = -1;
    /* CVE-2016-9962: joining a running container, we hold host fds while its processes
     * look on: they must not ptrace us or open our /proc/PID/fd. Reset by the final execve. */
    if (join_fd >= 0) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* Until READY, die with the runtime that creates us. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

    uint32_t n;
    struct op *ops = read_plan(&n);
    int last = cap_last();
    for (cur_op = 0; cur_op < n; cur_op++) {
        const struct op *o = &ops[cur_op];
        switch (o->code) {
        case SR_OP_PROPAGATION:
            if (mount(NULL, "/", NULL, (unsigned long)I(o, 0), NULL) < 0) fail("set / propagation", "mount", "/");
            break;
        case SR_OP_ROOTFS:
            if (mount(S(o, 0), S(o, 0), NULL, MS_BIND | MS_REC, NULL) < 0) fail("bind the rootfs", "mount", S(o, 0));
            root_fd = open(S(o, 0), O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (root_fd < 0) fail("open the rootfs", "open", S(o, 0));
            break;
        case SR_OP_MOUNT: op_mount(o); break;
        case SR_OP_MKDEV: op_mkdev(o); break;
        case SR_OP_SYMLINK: op_symlink(o); break;
        case SR_OP_MASK: op_mask(o); break;
        case SR_OP_READONLY: op_readonly(o); break;
        case SR_OP_ROOT_READONLY:
            if (mount_setattr_(root_fd, 0, MOUNT_ATTR_RDONLY, 0, 0) < 0) fail("make the rootfs read-only", "mount_setattr", "/");
            break;
        case SR_OP_PIVOT: op_pivot(); break;
        case SR_OP_HOSTNAME:
            if (sethostname(S(o, 0), o->args[0].len) < 0) fail("set hostname", "sethostname", S(o, 0));
            break;
        case SR_OP_DOMAINNAME:
            if (setdomainname(S(o, 0), o->args[0].len) < 0) fail("set domainname", "setdomainname", S(o, 0));
            break;
        case SR_OP_SYSCTL: op_sysctl(o); break;
        case SR_OP_OOM_SCORE_ADJ: {
            char v[32], rel[64];
            snprintf(v, sizeof v, "%lld", (long long)I(o, 0));
            snprintf(rel, sizeof rel, "%d/oom_score_adj", (int)getpid()); /* /proc/self is a symlink */
            write_proc("set oom_score_adj", rel, v);
            break;
        }
        case SR_OP_RLIMIT: {
            struct rlimit rl = { .rlim_cur = (rlim_t)I(o, 1), .rlim_max = (rlim_t)I(o, 2) };
            if (setrlimit((int)I(o, 0), &rl) < 0) fail("set rlimit", "setrlimit", NULL);
            break;
        }
        case SR_OP_UMASK: umask((mode_t)I(o, 0)); break;
        case SR_OP_NO_NEW_PRIVS:
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("set no_new_privs", "prctl", NULL);
            break;
        case SR_OP_SECCOMP: op_seccomp(o); break;
        case SR_OP_CAP_BOUNDING: op_cap_bounding(o, last); break;
        case SR_OP_USER: op_user(o); break;
        case SR_OP_CAPS: op_caps(o, last); break;
        case SR_OP_CHDIR: op_chdir(o); break;
        case SR_OP_CLOSE_FDS:
            /* Everything the container should not see is closed at exec (CVE-2024-21626). */
            if (syscall(SYS_close_range, (unsigned)I(o, 0), ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                fail("close fds", "close_range", NULL);
            break;
        case SR_OP_LOOKUP: op_lookup(o); break;
        case SR_OP_READY: send_report(SR_REPORT_READY, 0, "ready", "", ""); break;
        case SR_OP_DEATHSIG: prctl(PR_SET_PDEATHSIG, (unsigned long)I(o, 0), 0, 0, 0); break;
        case SR_OP_WAIT_START: op_wait_start(); break;
        case SR_OP_HOOK: op_hook(o); break;
        case SR_OP_SETSID: setsid(); break;
        case SR_OP_MKDIR: {
            int fd = open_in_root(S(o, 0), 1, 0, 0);
            if (fd < 0) fail("create directory", "mkdirat", S(o, 0));
            close(fd);
            break;
        }
        case SR_OP_SYNC: {
            char c;
            send_report(SR_REPORT_SYNC, 0, "sync", "", "");
            if (read_full(sync_fd, &c, 1) < 0) _exit(1);
            break;
        }
        case SR_OP_SETNS: {
            int fd = open(S(o, 0), O_RDONLY | O_CLOEXEC);
            if (fd < 0) fail("join namespace", "open", S(o, 0));
            if (setns(fd, (int)I(o, 1)) < 0) fail("join namespace", "setns", S(o, 0));
            close(fd);
            if (I(o, 1) == CLONE_NEWUSER) {
                /* Our host ids mean nothing in there (files we make would fail with EOVERFLOW). */
                become_userns_root("join the user namespace", S(o, 0));
            }
            break;
        }
        case SR_OP_JOIN:
            if (join_fd < 0) { errno = EBADF; fail("join the container", "setns", "pidfd"); }
            if (setns(join_fd, (int)I(o, 0)) < 0) fail("join the container's namespaces", "setns", "pidfd");
            close(join_fd);
            join_fd = -1;
            /* Joining the mount namespace made "/" the container's root: resolve inside it. */
            root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (root_fd < 0) fail("join the container", "open", "/");
            break;
        case SR_OP_FORK: {
            /* Joining pid and time namespaces takes effect for children only. */
            pid_t child = fork();
            if (child < 0) fail("fork into the container's pid namespace", "fork", NULL);
            if (child > 0) {
                report_pid = child;
                send_report(SR_REPORT_PID, 0, "forked", "", "");
                _exit(0);
            }
            break;
        }
        case SR_OP_CONSOLE: op_console(o); break;
        case SR_OP_LOOPBACK_UP: {
            struct ifreq ifr;
            int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (s < 0) fail("bring up lo", "socket", NULL);
            memset(&ifr, 0, sizeof ifr);
            strcpy(ifr.ifr_name, "lo");
            if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail("bring up lo", "ioctl SIOCGIFFLAGS", "lo");
            ifr.ifr_flags |= IFF_UP;
            if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail("bring up lo", "ioctl SIOCSIFFLAGS", "lo");
            close(s);
            break;
        }
        case SR_OP_REAPER: reaper = 1; break;
        case SR_OP_UNSHARE:
            if (unshare((int)I(o, 0)) < 0) fail("create the new namespaces", "unshare", NULL);
            break;
        case SR_OP_MAPS: {
            /* A user namespace made by unshare, after joining namespaces by path that the
             * host's user namespace owns (only from it may we enter them): the runtime
             * writes its maps, then we become its root, as a clone3 child does. */
            char c;
            send_report(SR_REPORT_MAPS, 0, "map ids", "", "");
            if (read_full(sync_fd, &c, 1) < 0) _exit(1);
            become_userns_root("become root of the new user namespace", NULL);
            break;
        }
        case SR_OP_EXEC: op_exec(o);
        default:
            errno = EPROTO;
            fail("unknown plan operation", "decode", NULL);
        }
    }
    errno = EPROTO;
    fail("plan ended without exec", "decode", NULL);
}
