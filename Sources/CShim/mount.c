#define _GNU_SOURCE
#include "internal.h"

/* Mounts: overlayfs and detached (optionally idmapped) bind mounts by the new mount API. */
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/wait.h>

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

