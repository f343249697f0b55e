/* Layer unpacking with libarchive: every write goes through a directory fd resolved with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a hostile layer cannot write outside
 * its directory (the class of CVE-2018-15664, CVE-2019-14271 and the many tar-slip bugs). */
#define _GNU_SOURCE
#include "sr_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <dirent.h>

/* libarchive is opened with dlopen on first use, like libcurl (CHTTP): linked, it and the
 * 17 libraries behind it (ICU, libxml2, nettle, the compressors) were mapped into every
 * swiftrun process, the per-container supervisor included, which never unpacks anything. */
#include <dlfcn.h>
#include <pthread.h>
#define SR_ARCHIVE_FUNCS(X) \
    X(archive_entry_atime) \
    X(archive_entry_atime_is_set) \
    X(archive_entry_atime_nsec) \
    X(archive_entry_filetype) \
    X(archive_entry_free) \
    X(archive_entry_gid) \
    X(archive_entry_hardlink) \
    X(archive_entry_mtime) \
    X(archive_entry_mtime_nsec) \
    X(archive_entry_new) \
    X(archive_entry_pathname) \
    X(archive_entry_perm) \
    X(archive_entry_rdev) \
    X(archive_entry_set_uid) \
    X(archive_entry_set_gid) \
    X(archive_entry_set_mode) \
    X(archive_entry_set_symlink) \
    X(archive_entry_set_hardlink) \
    X(archive_entry_set_rdev) \
    X(archive_entry_xattr_add_entry) \
    X(archive_write_open) \
    X(archive_write_set_bytes_in_last_block) \
    X(archive_entry_set_filetype) \
    X(archive_entry_set_mtime) \
    X(archive_entry_set_pathname) \
    X(archive_entry_set_perm) \
    X(archive_entry_set_size) \
    X(archive_entry_size) \
    X(archive_entry_symlink) \
    X(archive_entry_uid) \
    X(archive_entry_xattr_next) \
    X(archive_entry_xattr_reset) \
    X(archive_error_string) \
    X(archive_read_data) \
    X(archive_read_data_block) \
    X(archive_read_free) \
    X(archive_read_new) \
    X(archive_read_next_header) \
    X(archive_read_open) \
    X(archive_read_open_fd) \
    X(archive_read_support_filter_bzip2) \
    X(archive_read_support_filter_gzip) \
    X(archive_read_support_filter_xz) \
    X(archive_read_support_filter_none) \
    X(archive_read_support_filter_zstd) \
    X(archive_read_support_format_gnutar) \
    X(archive_read_support_format_raw) \
    X(archive_read_support_format_tar) \
    X(archive_set_error) \
    X(archive_write_close) \
    X(archive_write_data) \
    X(archive_write_free) \
    X(archive_write_header) \
    X(archive_write_new) \
    X(archive_write_open_fd) \
    X(archive_write_set_format_pax_restricted) \
    X(archive_write_add_filter_gzip) \
    X(archive_write_set_filter_option) \
    X(archive_write_set_format_raw) \

#define X(f) static __typeof__(&f) p_##f;
SR_ARCHIVE_FUNCS(X)
#undef X
#define A(f) (*p_##f)
static pthread_once_t archive_once = PTHREAD_ONCE_INIT;
static char archive_missing[160];

static void archive_load(void) {
    void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(archive_missing, sizeof archive_missing, "libarchive.so.13 cannot be loaded (%s): install libarchive13", dlerror());
        return;
    }
#define X(f) if (!(p_##f = (__typeof__(p_##f))dlsym(h, #f))) { \
        snprintf(archive_missing, sizeof archive_missing, "libarchive.so.13 has no %s: it is too old", #f); return; }
    SR_ARCHIVE_FUNCS(X)
#undef X
}

/* NULL when libarchive is ready, else why not. */
static const char *archive_unavailable(void) {
    pthread_once(&archive_once, archive_load);
    return archive_missing[0] ? archive_missing : NULL;
}

#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int fail(struct sr_unpack_result *r, int err, const char *entry, const char *what) {
    r->err = err;
    snprintf(r->entry, sizeof r->entry, "%s", entry ? entry : "");
    snprintf(r->what, sizeof r->what, "%s", what);
    return -1;
}

static int openat2_(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
    struct open_how how = { .flags = flags, .resolve = resolve };
    int fd;
    do fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
    return fd;
}

/* Normalises a tar path: drops leading "/" and "./", empty and "." components; refuses "..".
 * Returns 0, 1 for the layer root itself, -1 for "..", -2 for a path of PATH_MAX or more. */
static int clean_path(const char *in, char out[PATH_MAX]) {
    size_t o = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/') p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0) break;
        if (n == 1 && p[0] == '.') { p += n; continue; }
        if (n == 2 && p[0] == '.' && p[1] == '.') return -1;
        if (o + n + 2 >= PATH_MAX) return -2;
        if (o) out[o++] = '/';
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = 0;
    return o == 0 ? 1 : 0;
}

/* Opens the parent directory of `path` beneath dest, walking one component at a time
 * (each opened with RESOLVE_STRICT relative to the previous one) and creating missing
 * directories. *leaf points into `path` afterwards. */
static int open_parent(int dest, char *path, const char **leaf, struct sr_unpack_result *r, const char *entry) {
    char *slash = strrchr(path, '/');
    *leaf = slash ? slash + 1 : path;
    int cur = openat2_(dest, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_STRICT);
    if (cur < 0) { fail(r, errno, entry, "open of the layer directory"); return -1; }
    if (!slash) return cur;
    *slash = 0;
    char *comp = path;
    for (;;) {
        char *next = strchr(comp, '/');
        if (next) *next = 0;
        int fd = openat2_(cur, comp, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_STRICT);
        if (fd < 0 && errno == ENOENT) {
            int d = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (d < 0 || (mkdirat(d, comp, 0755) < 0 && errno != EEXIST)) {
                fail(r, errno, entry, "mkdirat of a parent directory");
                if (d >= 0) close(d);
                fd = -2;
            } else {
                close(d);
                fd = openat2_(cur, comp, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_STRICT);
            }
        }
        if (fd == -1) {
            int e = errno;
            fail(r, e, entry, e == ELOOP ? "a parent directory is a symlink: refused (it could lead outside the layer)"
                              : e == EXDEV ? "a parent directory leaves the layer: refused"
                              : e == ENOTDIR ? "a parent is not a directory" : "openat2 of a parent directory");
        }
        if (next) *next = '/';
        close(cur);
        if (fd < 0) { *slash = '/'; return -1; }
        cur = fd;
        if (!next) break;
        comp = next + 1;
    }
    *slash = '/';
    return cur;
}

/* Makes room for a new entry: an existing directory stays if the new one is a directory. */
static int clear_leaf(int pfd, const char *leaf, int new_is_dir) {
    struct stat st;
    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        if (new_is_dir) return 0;
        return unlinkat(pfd, leaf, AT_REMOVEDIR); /* only if empty; else an error */
    }
    return unlinkat(pfd, leaf, 0);
}

static int write_data(struct archive *a, int fd, struct sr_unpack_result *r) {
    const void *buf;
    size_t size;
    la_int64_t off;
    for (;;) {
        int rc = A(archive_read_data_block)(a, &buf, &size, &off);
        if (rc == ARCHIVE_EOF) return 0;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) { errno = EIO; return -2; }
        const char *p = buf;
        while (size) {
            ssize_t n = pwrite(fd, p, size, off);
            if (n < 0) { if (errno == EINTR) continue; return -1; }
            p += n;
            off += n;
            size -= (size_t)n;
            r->bytes += (uint64_t)n;
        }
    }
}

struct dirtime { char *path; struct timespec ts[2]; };

/* Two readers in a pipe: `outer` decompresses (raw format), `inner` parses the tar from
 * outer's bytes, which pass through the sink on the way. One decompression pass. */
struct pipe_state {
    struct archive *outer;
    sr_sink_fn sink;
    void *ctx;
    char buf[1 << 16];
};

static la_ssize_t pipe_read(struct archive *inner, void *data, const void **out) {
    (void)inner;
    struct pipe_state *p = data;
    la_ssize_t n = A(archive_read_data)(p->outer, p->buf, sizeof p->buf);
    if (n > 0 && p->sink) p->sink(p->ctx, p->buf, (size_t)n);
    *out = p->buf;
    return n;
}

static int unpack_entries(struct archive *a, int dest, struct sr_unpack_result *r);

int sr_unpack_layer(int src_fd, int dest, struct sr_unpack_result *r) {
    return sr_unpack_layer_hashed(src_fd, dest, NULL, NULL, r);
}

int sr_unpack_layer_hashed(int src_fd, int dest, sr_sink_fn sink, void *ctx, struct sr_unpack_result *r) {
    memset(r, 0, sizeof *r);
    const char *why = archive_unavailable();
    if (why) return fail(r, ELIBACC, NULL, why);
    struct pipe_state *p = calloc(1, sizeof *p);
    p->sink = sink;
    p->ctx = ctx;
    p->outer = A(archive_read_new)();
    A(archive_read_support_filter_gzip)(p->outer);
    A(archive_read_support_filter_zstd)(p->outer);
    /* Not for image layers (gzip and zstd there), but for ADD of a local archive. */
    A(archive_read_support_filter_bzip2)(p->outer);
    A(archive_read_support_filter_xz)(p->outer);
    A(archive_read_support_filter_none)(p->outer);
    A(archive_read_support_format_raw)(p->outer);
    struct archive_entry *raw;
    int ret = -1;
    struct archive *a = NULL;
    if (A(archive_read_open_fd)(p->outer, src_fd, 1 << 20) != ARCHIVE_OK ||
        A(archive_read_next_header)(p->outer, &raw) != ARCHIVE_OK) {
        fail(r, EINVAL, NULL, A(archive_error_string)(p->outer) ? A(archive_error_string)(p->outer) : "empty or unreadable");
        goto done;
    }
    a = A(archive_read_new)();
    A(archive_read_support_filter_none)(a);
    A(archive_read_support_format_tar)(a);
    A(archive_read_support_format_gnutar)(a);
    if (A(archive_read_open)(a, p, NULL, pipe_read, NULL) != ARCHIVE_OK) {
        fail(r, EINVAL, NULL, A(archive_error_string)(a) ? A(archive_error_string)(a) : "not a tar archive");
        goto done;
    }
    ret = unpack_entries(a, dest, r);
    if (ret == 0) {
        /* The diff ID covers the whole stream: hash what follows the tar's end marker too. */
        la_ssize_t n;
        while ((n = A(archive_read_data)(p->outer, p->buf, sizeof p->buf)) > 0)
            if (sink) sink(ctx, p->buf, (size_t)n);
        if (n < 0) {
            fail(r, EIO, NULL, A(archive_error_string)(p->outer) ? A(archive_error_string)(p->outer) : "corrupt compressed data");
            ret = -1;
        }
    }
done:
    if (a) A(archive_read_free)(a);
    A(archive_read_free)(p->outer);
    free(p);
    return ret;
}

static int unpack_entries(struct archive *a, int dest, struct sr_unpack_result *r) {
    struct dirtime *dirs = NULL;
    size_t ndirs = 0, capdirs = 0;
    int ret = -1;
    struct archive_entry *e;
    char path[PATH_MAX], target[PATH_MAX];
    for (;;) {
        int rc = A(archive_read_next_header)(a, &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            fail(r, EINVAL, NULL, A(archive_error_string)(a) ? A(archive_error_string)(a) : "corrupt archive");
            goto out;
        }
        const char *name = A(archive_entry_pathname)(e);
        if (!name) { fail(r, EINVAL, "", "entry without a name"); goto out; }
        int c = clean_path(name, path);
        if (c == -2) { fail(r, ENAMETOOLONG, name, "the path is longer than the kernel's PATH_MAX (4096 bytes): refused"); goto out; }
        if (c < 0) { fail(r, EPERM, name, "the path leaves the layer (\"..\"): refused"); goto out; }
        r->entries++;
        mode_t type = A(archive_entry_filetype)(e);
        if (c == 1) {
            /* The layer root itself ("./"): its owner, mode and time apply to the directory. */
            if (type == AE_IFDIR) {
                int rfd = openat2_(dest, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_STRICT);
                if (rfd < 0 || fchown(rfd, (uid_t)A(archive_entry_uid)(e), (gid_t)A(archive_entry_gid)(e)) < 0 ||
                    fchmod(rfd, A(archive_entry_perm)(e)) < 0) {
                    fail(r, errno, name, "set the layer root's owner and mode");
                    if (rfd >= 0) close(rfd);
                    goto out;
                }
                close(rfd);
                if (ndirs == capdirs) {
                    capdirs = capdirs ? capdirs * 2 : 64;
                    dirs = realloc(dirs, capdirs * sizeof *dirs);
                }
                dirs[ndirs].path = strdup(".");
                dirs[ndirs].ts[0] = dirs[ndirs].ts[1] = (struct timespec){ A(archive_entry_mtime)(e), A(archive_entry_mtime_nsec)(e) };
                ndirs++;
            }
            continue;
        }

        const char *leaf;
        int pfd = open_parent(dest, path, &leaf, r, name);
        if (pfd < 0) goto out;
        int pdir = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* *at() needs a real dir fd */
        close(pfd);
        if (pdir < 0) { fail(r, errno, name, "open of the parent directory"); goto out; }
        int ok = 0;

        /* Whiteouts (OCI image spec): the overlayfs representation. */
        if (strncmp(leaf, ".wh.", 4) == 0) {
            if (strcmp(leaf, ".wh..wh..opq") == 0) {
                if (fsetxattr(pdir, "trusted.overlay.opaque", "y", 1, 0) < 0) { fail(r, errno, name, "fsetxattr trusted.overlay.opaque"); goto entry_out; }
            } else {
                const char *victim = leaf + 4;
                if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0 || strchr(victim, '/')) {
                    fail(r, EPERM, name, "a whiteout for an invalid name: refused"); goto entry_out;
                }
                if (clear_leaf(pdir, victim, 0) < 0 && errno != ENOTEMPTY) { fail(r, errno, name, "unlinkat before whiteout"); goto entry_out; }
                if (mknodat(pdir, victim, S_IFCHR | 0, makedev(0, 0)) < 0) { fail(r, errno, name, "mknodat whiteout"); goto entry_out; }
            }
            ok = 1;
            goto entry_out;
        }

        const char *hard = A(archive_entry_hardlink)(e);
        if (hard) {
            int hc = clean_path(hard, target);
            if (hc == -2) { fail(r, ENAMETOOLONG, name, "a hard link's target is longer than the kernel's PATH_MAX (4096 bytes): refused"); goto entry_out; }
            if (hc != 0) { fail(r, EPERM, name, "a hard link to a path outside the layer: refused"); goto entry_out; }
            const char *tleaf;
            int tp = open_parent(dest, target, &tleaf, r, name);
            if (tp < 0) goto entry_out;
            int tdir = openat(tp, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            close(tp);
            struct stat st;
            if (tdir < 0 || fstatat(tdir, tleaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                fail(r, errno, name, "the hard link's target is not in the layer");
                if (tdir >= 0) close(tdir);
                goto entry_out;
            }
            if (clear_leaf(pdir, leaf, 0) < 0 || linkat(tdir, tleaf, pdir, leaf, 0) < 0) {
                fail(r, errno, name, "linkat");
                close(tdir);
                goto entry_out;
            }
            close(tdir);
            ok = 1;
            goto entry_out;
        }

        if (clear_leaf(pdir, leaf, type == AE_IFDIR) < 0) { fail(r, errno, name, "unlinkat of what was there"); goto entry_out; }
        mode_t mode = A(archive_entry_perm)(e);
        switch (type) {
        case AE_IFDIR:
            if (mkdirat(pdir, leaf, 0700) < 0 && errno != EEXIST) { fail(r, errno, name, "mkdirat"); goto entry_out; }
            break;
        case AE_IFREG: {
            int fd = openat(pdir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0) { fail(r, errno, name, "openat"); goto entry_out; }
            int w = write_data(a, fd, r);
            if (w < 0) {
                fail(r, errno, name, w == -2 ? (A(archive_error_string)(a) ? A(archive_error_string)(a) : "corrupt data") : "write");
                close(fd);
                goto entry_out;
            }
            if (ftruncate(fd, A(archive_entry_size)(e)) < 0) { fail(r, errno, name, "ftruncate"); close(fd); goto entry_out; }
            close(fd);
            break;
        }
        case AE_IFLNK:
            if (symlinkat(A(archive_entry_symlink)(e) ? A(archive_entry_symlink)(e) : "", pdir, leaf) < 0) { fail(r, errno, name, "symlinkat"); goto entry_out; }
            break;
        case AE_IFCHR: case AE_IFBLK: case AE_IFIFO:
            if (mknodat(pdir, leaf, type | mode, A(archive_entry_rdev)(e)) < 0) { fail(r, errno, name, "mknodat"); goto entry_out; }
            break;
        default:
            fail(r, EINVAL, name, "unsupported entry type");
            goto entry_out;
        }
        /* Owner first: chown clears setuid/setgid, so the mode comes after it. */
        if (fchownat(pdir, leaf, (uid_t)A(archive_entry_uid)(e), (gid_t)A(archive_entry_gid)(e), AT_SYMLINK_NOFOLLOW) < 0) {
            fail(r, errno, name, "fchownat"); goto entry_out;
        }
        if (type != AE_IFLNK && fchmodat(pdir, leaf, mode, 0) < 0) { fail(r, errno, name, "fchmodat"); goto entry_out; }
        /* Extended attributes, on what can be opened without following links. */
        A(archive_entry_xattr_reset)(e);
        if (type == AE_IFREG || type == AE_IFDIR) {
            const char *xn;
            const void *xv;
            size_t xl;
            int xfd = -1;
            while (A(archive_entry_xattr_next)(e, &xn, &xv, &xl) == ARCHIVE_OK) {
                if (xfd < 0) xfd = openat(pdir, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (type == AE_IFDIR ? O_DIRECTORY : 0));
                if (xfd < 0 || fsetxattr(xfd, xn, xv, xl, 0) < 0) {
                    fail(r, errno, name, "fsetxattr");
                    if (xfd >= 0) close(xfd);
                    goto entry_out;
                }
            }
            if (xfd >= 0) close(xfd);
        }
        struct timespec ts[2] = {
            { A(archive_entry_atime)(e), A(archive_entry_atime_nsec)(e) },
            { A(archive_entry_mtime)(e), A(archive_entry_mtime_nsec)(e) },
        };
        if (!A(archive_entry_atime_is_set)(e)) ts[0] = ts[1];
        if (type == AE_IFDIR) {
            /* Children change a directory's mtime: set it at the end. */
            if (ndirs == capdirs) {
                capdirs = capdirs ? capdirs * 2 : 64;
                dirs = realloc(dirs, capdirs * sizeof *dirs);
            }
            dirs[ndirs].path = strdup(path);
            dirs[ndirs].ts[0] = ts[0];
            dirs[ndirs].ts[1] = ts[1];
            ndirs++;
        } else if (utimensat(pdir, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0) {
            fail(r, errno, name, "utimensat");
            goto entry_out;
        }
        ok = 1;
    entry_out:
        close(pdir);
        if (!ok) goto out;
    }
    for (size_t i = ndirs; i-- > 0;) {
        int fd = openat2_(dest, dirs[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_STRICT);
        if (fd >= 0) {
            futimens(fd, dirs[i].ts);
            close(fd);
        }
    }
    ret = 0;
out:
    for (size_t i = 0; i < ndirs; i++) free(dirs[i].path);
    free(dirs);
    return ret;
}

/* A tar writer for `save` (pax format, libarchive), over an fd the caller opened. */
#include <archive_entry.h>
struct archive *sr_tar_open(int fd) {
    if (archive_unavailable()) { errno = ELIBACC; return NULL; }
    struct archive *a = A(archive_write_new)();
    if (!a) return NULL;
    if (A(archive_write_set_format_pax_restricted)(a) != ARCHIVE_OK || A(archive_write_open_fd)(a, fd) != ARCHIVE_OK) {
        A(archive_write_free)(a);
        return NULL;
    }
    return a;
}

static int tar_header(struct archive *a, const char *name, int64_t size) {
    struct archive_entry *e = A(archive_entry_new)();
    if (!e) return -1;
    A(archive_entry_set_pathname)(e, name);
    A(archive_entry_set_size)(e, size);
    A(archive_entry_set_filetype)(e, AE_IFREG);
    A(archive_entry_set_perm)(e, 0644);
    A(archive_entry_set_mtime)(e, 0, 0);
    int rc = A(archive_write_header)(a, e);
    A(archive_entry_free)(e);
    return rc == ARCHIVE_OK ? 0 : -1;
}

/* Adds `size` bytes read from src_fd as `name`. */
int sr_tar_add_fd(struct archive *a, const char *name, int src_fd, int64_t size) {
    if (tar_header(a, name, size) < 0) return -1;
    char buf[1 << 16];
    int64_t left = size;
    while (left > 0) {
        ssize_t n = read(src_fd, buf, left < (int64_t)sizeof buf ? (size_t)left : sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { A(archive_set_error)(a, n == 0 ? EIO : errno, "short read of %s", name); return -1; }
        if (A(archive_write_data)(a, buf, (size_t)n) != n) return -1;
        left -= n;
    }
    return 0;
}

int sr_tar_add_bytes(struct archive *a, const char *name, const void *data, size_t len) {
    if (tar_header(a, name, (int64_t)len) < 0) return -1;
    return len == 0 || A(archive_write_data)(a, data, len) == (la_ssize_t)len ? 0 : -1;
}

/* Finishes the archive; on failure copies libarchive's message into err. */
int sr_tar_close(struct archive *a, int failed, char *err, size_t errcap) {
    int rc = failed ? -1 : 0;
    if (failed && err) snprintf(err, errcap, "%s", A(archive_error_string)(a) ? A(archive_error_string)(a) : "tar write failed");
    if (!failed && A(archive_write_close)(a) != ARCHIVE_OK) {
        if (err) snprintf(err, errcap, "%s", A(archive_error_string)(a) ? A(archive_error_string)(a) : "tar close failed");
        rc = -1;
    }
    A(archive_write_free)(a);
    return rc;
}

/* ---- The other direction: an overlay upper directory written as an image layer. ---- */

struct pack_out { int fd; sr_sink_fn sink; void *ctx; };

static la_ssize_t pack_write(struct archive *a, void *data, const void *buf, size_t len) {
    (void)a;
    struct pack_out *o = data;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(o->fd, (const char *)buf + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        off += (size_t)n;
    }
    if (o->sink) o->sink(o->ctx, buf, len);
    return (la_ssize_t)len;
}

struct hardlink { dev_t dev; ino_t ino; char *path; };
struct pack_state {
    struct archive *a;
    struct sr_unpack_result *r;
    const char *const *exclude;
    int nexclude;
    struct hardlink *links;
    size_t nlinks, caplinks;
};

static int cmp_names(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

static int pack_header(struct pack_state *p, struct archive_entry *e, const char *path) {
    if (A(archive_write_header)(p->a, e) != ARCHIVE_OK) {
        fail(p->r, EIO, path, A(archive_error_string)(p->a) ? A(archive_error_string)(p->a) : "archive_write_header");
        return -1;
    }
    p->r->entries++;
    return 0;
}

/* The entry's xattrs but overlay's own; refuses the overlay features a plain tar cannot say. */
static int pack_xattrs(struct pack_state *p, int fd, struct archive_entry *e, const char *path, int *opaque) {
    char names[4096];
    ssize_t n = flistxattr(fd, names, sizeof names);
    if (n < 0) return errno == ENOTSUP ? 0 : fail(p->r, errno, path, "flistxattr");
    for (char *k = names; k < names + n; k += strlen(k) + 1) {
        char val[4096];
        ssize_t vn = fgetxattr(fd, k, val, sizeof val);
        if (vn < 0) return fail(p->r, errno, path, "fgetxattr");
        if (strncmp(k, "trusted.overlay.", 16) == 0) {
            if (strcmp(k, "trusted.overlay.opaque") == 0) { if (opaque && vn == 1 && val[0] == 'y') *opaque = 1; continue; }
            if (strcmp(k, "trusted.overlay.redirect") == 0 || strcmp(k, "trusted.overlay.metacopy") == 0)
                return fail(p->r, EINVAL, path, "overlay redirect or metacopy in the upper directory: mount with redirect_dir=off,metacopy=off");
            continue;
        }
        A(archive_entry_xattr_add_entry)(e, k, val, (size_t)vn);
    }
    return 0;
}

static int pack_dir(struct pack_state *p, int dfd, const char *prefix);

static int pack_entry(struct pack_state *p, int dfd, const char *name, const char *prefix) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s%s", prefix, name) >= sizeof path) return fail(p->r, ENAMETOOLONG, name, "path");
    for (int i = 0; i < p->nexclude; i++) if (strcmp(p->exclude[i], path) == 0) return 0;
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return fail(p->r, errno, path, "fstatat");
    if (S_ISSOCK(st.st_mode)) return 0; /* as Docker: sockets are not layer content */
    struct archive_entry *e = A(archive_entry_new)();
    if (!e) return fail(p->r, ENOMEM, path, "archive_entry_new");
    int rc = -1, fd = -1;
    A(archive_entry_set_uid)(e, st.st_uid);
    A(archive_entry_set_gid)(e, st.st_gid);
    A(archive_entry_set_mtime)(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
        /* An overlay whiteout: the image spec's .wh.NAME. */
        char wh[PATH_MAX];
        if ((size_t)snprintf(wh, sizeof wh, "%s.wh.%s", prefix, name) >= sizeof wh) { fail(p->r, ENAMETOOLONG, path, "whiteout"); goto out; }
        A(archive_entry_set_pathname)(e, wh);
        A(archive_entry_set_filetype)(e, AE_IFREG);
        A(archive_entry_set_perm)(e, 0);
        A(archive_entry_set_size)(e, 0);
        rc = pack_header(p, e, path);
        goto out;
    }
    A(archive_entry_set_mode)(e, st.st_mode);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dfd, name, target, sizeof target - 1);
        if (n < 0) { fail(p->r, errno, path, "readlinkat"); goto out; }
        target[n] = 0;
        A(archive_entry_set_pathname)(e, path);
        A(archive_entry_set_symlink)(e, target);
        rc = pack_header(p, e, path);
        goto out;
    }
    if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
        A(archive_entry_set_pathname)(e, path);
        A(archive_entry_set_rdev)(e, st.st_rdev);
        rc = pack_header(p, e, path);
        goto out;
    }
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (fd < 0) { fail(p->r, errno, path, "openat"); goto out; }
    int opaque = 0;
    if (pack_xattrs(p, fd, e, path, S_ISDIR(st.st_mode) ? &opaque : NULL) < 0) goto out;
    if (S_ISDIR(st.st_mode)) {
        char dpath[PATH_MAX];
        if ((size_t)snprintf(dpath, sizeof dpath, "%s/", path) >= sizeof dpath) { fail(p->r, ENAMETOOLONG, path, "path"); goto out; }
        A(archive_entry_set_pathname)(e, dpath);
        if (pack_header(p, e, path) < 0) goto out;
        if (opaque) {
            /* Right after its directory, before what this layer puts in it. */
            struct archive_entry *o = A(archive_entry_new)();
            char opq[PATH_MAX];
            if ((size_t)snprintf(opq, sizeof opq, "%s.wh..wh..opq", dpath) >= sizeof opq) { A(archive_entry_free)(o); fail(p->r, ENAMETOOLONG, path, "opaque"); goto out; }
            A(archive_entry_set_pathname)(o, opq);
            A(archive_entry_set_filetype)(o, AE_IFREG);
            A(archive_entry_set_perm)(o, 0);
            A(archive_entry_set_size)(o, 0);
            A(archive_entry_set_mtime)(o, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
            int hr = pack_header(p, o, path);
            A(archive_entry_free)(o);
            if (hr < 0) goto out;
        }
        rc = pack_dir(p, fd, dpath);
        goto out;
    }
    A(archive_entry_set_pathname)(e, path);
    if (st.st_nlink > 1) {
        for (size_t i = 0; i < p->nlinks; i++) {
            if (p->links[i].dev == st.st_dev && p->links[i].ino == st.st_ino) {
                A(archive_entry_set_hardlink)(e, p->links[i].path);
                A(archive_entry_set_size)(e, 0);
                rc = pack_header(p, e, path);
                goto out;
            }
        }
        if (p->nlinks == p->caplinks) {
            p->caplinks = p->caplinks ? p->caplinks * 2 : 64;
            p->links = realloc(p->links, p->caplinks * sizeof *p->links);
        }
        p->links[p->nlinks++] = (struct hardlink){ st.st_dev, st.st_ino, strdup(path) };
    }
    A(archive_entry_set_size)(e, st.st_size);
    if (pack_header(p, e, path) < 0) goto out;
    char buf[1 << 16];
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = read(fd, buf, left < (off_t)sizeof buf ? (size_t)left : sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { fail(p->r, errno, path, "read"); goto out; }
        if (n == 0) { fail(p->r, EIO, path, "the file shrank while it was written into the layer"); goto out; }
        if (A(archive_write_data)(p->a, buf, (size_t)n) != n) { fail(p->r, EIO, path, "archive_write_data"); goto out; }
        left -= n;
        p->r->bytes += (uint64_t)n;
    }
    rc = 0;
out:
    if (fd >= 0) close(fd);
    A(archive_entry_free)(e);
    return rc;
}

/* A directory's entries in name order (the same tree always makes the same tar). */
static int pack_dir(struct pack_state *p, int dfd, const char *prefix) {
    int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return fail(p->r, errno, prefix, "dup");
    DIR *d = fdopendir(dup_fd);
    if (!d) { close(dup_fd); return fail(p->r, errno, prefix, "fdopendir"); }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (n == cap) { cap = cap ? cap * 2 : 32; names = realloc(names, cap * sizeof *names); }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && pack_entry(p, dfd, names[i], prefix) < 0) rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int sr_pack_layer(int dir_fd, int out_fd, sr_sink_fn sink, void *ctx, const char *const *exclude, int nexclude,
                  struct sr_unpack_result *r) {
    memset(r, 0, sizeof *r);
    const char *why = archive_unavailable();
    if (why) return fail(r, ELIBACC, "", why);
    struct archive *a = A(archive_write_new)();
    if (!a) return fail(r, ENOMEM, "", "archive_write_new");
    struct pack_out out = { out_fd, sink, ctx };
    struct pack_state p = { .a = a, .r = r, .exclude = exclude, .nexclude = nexclude };
    int rc = -1;
    A(archive_write_set_bytes_in_last_block)(a, 1);
    if (A(archive_write_set_format_pax_restricted)(a) != ARCHIVE_OK ||
        A(archive_write_open)(a, &out, NULL, pack_write, NULL) != ARCHIVE_OK) {
        fail(r, EIO, "", A(archive_error_string)(a) ? A(archive_error_string)(a) : "archive_write_open");
        goto done;
    }
    if (pack_dir(&p, dir_fd, "") < 0) goto done;
    if (A(archive_write_close)(a) != ARCHIVE_OK) {
        fail(r, errno ? errno : EIO, "", A(archive_error_string)(a) ? A(archive_error_string)(a) : "archive_write_close");
        goto done;
    }
    rc = 0;
done:
    A(archive_write_free)(a);
    for (size_t i = 0; i < p.nlinks; i++) free(p.links[i].path);
    free(p.links);
    return rc;
}

/* A layer tar (in_fd, read to its end) gzip-compressed to out_fd for push: libarchive's raw
 * format behind its gzip filter, with no timestamp in the gzip header, so the same layer
 * always compresses to the same bytes (and digest). `sink` gets every compressed byte. */
int sr_gzip_stream(int in_fd, int out_fd, sr_sink_fn sink, void *ctx, struct sr_unpack_result *r) {
    memset(r, 0, sizeof *r);
    const char *why = archive_unavailable();
    if (why) return fail(r, ELIBACC, "", why);
    struct archive *a = A(archive_write_new)();
    if (!a) return fail(r, ENOMEM, "", "archive_write_new");
    struct archive_entry *e = A(archive_entry_new)();
    struct pack_out out = { out_fd, sink, ctx };
    char *buf = malloc(1 << 20);
    int rc = -1;
    if (!e || !buf) { fail(r, ENOMEM, "", "malloc"); goto done; }
    A(archive_write_set_bytes_in_last_block)(a, 1);
    if (A(archive_write_add_filter_gzip)(a) != ARCHIVE_OK ||
        A(archive_write_set_filter_option)(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        A(archive_write_set_format_raw)(a) != ARCHIVE_OK ||
        A(archive_write_open)(a, &out, NULL, pack_write, NULL) != ARCHIVE_OK) {
        fail(r, EIO, "", A(archive_error_string)(a) ? A(archive_error_string)(a) : "archive_write_open (gzip)");
        goto done;
    }
    A(archive_entry_set_pathname)(e, "layer.tar");
    A(archive_entry_set_filetype)(e, AE_IFREG);
    A(archive_entry_set_perm)(e, 0644);
    if (A(archive_write_header)(a, e) != ARCHIVE_OK) { fail(r, EIO, "", A(archive_error_string)(a)); goto done; }
    for (;;) {
        ssize_t n = read(in_fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { fail(r, errno, "", "read (the layer)"); goto done; }
        if (n == 0) break;
        if (A(archive_write_data)(a, buf, (size_t)n) != n) {
            fail(r, errno ? errno : EIO, "", A(archive_error_string)(a) ? A(archive_error_string)(a) : "write (gzip)");
            goto done;
        }
        r->bytes += (uint64_t)n;
    }
    if (A(archive_write_close)(a) != ARCHIVE_OK) {
        fail(r, errno ? errno : EIO, "", A(archive_error_string)(a) ? A(archive_error_string)(a) : "archive_write_close (gzip)");
        goto done;
    }
    rc = 0;
done:
    free(buf);
    if (e) A(archive_entry_free)(e);
    A(archive_write_free)(a);
    return rc;
}

/* ADD's test, by content as moby does (not by name): is the file a tar, plain or compressed
 * with a filter libarchive reads? The fd's offset is put back. */
int sr_is_tar(int fd) {
    if (archive_unavailable()) return 0;
    off_t at = lseek(fd, 0, SEEK_CUR);
    struct archive *a = A(archive_read_new)();
    if (!a) return 0;
    A(archive_read_support_filter_gzip)(a);
    A(archive_read_support_filter_bzip2)(a);
    A(archive_read_support_filter_xz)(a);
    A(archive_read_support_filter_zstd)(a);
    A(archive_read_support_filter_none)(a);
    A(archive_read_support_format_tar)(a);
    A(archive_read_support_format_gnutar)(a);
    struct archive_entry *e;
    int yes = A(archive_read_open_fd)(a, fd, 65536) == ARCHIVE_OK && A(archive_read_next_header)(a, &e) == ARCHIVE_OK;
    A(archive_read_free)(a);
    lseek(fd, at, SEEK_SET);
    return yes;
}
