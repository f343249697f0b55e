/* Unpacking an image layer (tar; gzip, zstd or none) into a directory, through fds only. */
#ifndef SR_UNPACK_H
#define SR_UNPACK_H

#include <stddef.h>
#include <stdint.h>

struct sr_unpack_result {
    int err;             /* errno, or 0 */
    char entry[512];     /* the tar entry that failed */
    char what[160];      /* what was wrong, or the syscall that failed */
    uint64_t entries;
    uint64_t bytes;
};

/* Unpacks the archive read from src_fd into the directory dest_fd. Entries may not reach
 * outside it: ".." components, symlinked parents and hard links leaving the layer are
 * refused. Whiteouts become overlayfs whiteouts (char 0:0, trusted.overlay.opaque).
 * Returns 0, or -1 with `res` describing the failure. */
int sr_unpack_layer(int src_fd, int dest_fd, struct sr_unpack_result *res);

/* The same, passing every byte of the uncompressed tar stream to `sink` (to compute the
 * layer's diff ID in the same pass), trailing padding included. */
typedef void (*sr_sink_fn)(void *ctx, const void *buf, size_t len);
int sr_unpack_layer_hashed(int src_fd, int dest_fd, sr_sink_fn sink, void *ctx, struct sr_unpack_result *res);

/* The other direction: the overlay upper directory dir_fd written to out_fd as an image
 * layer (pax tar, uncompressed): whiteouts (char 0:0) as .wh.NAME, opaque directories with a
 * .wh..wh..opq entry, xattrs but overlay's own, hard links kept, entries in name order.
 * `sink` gets every byte written (the diff ID). Paths in `exclude` (relative, "etc/hosts") are
 * left out. */
int sr_pack_layer(int dir_fd, int out_fd, sr_sink_fn sink, void *ctx, const char *const *exclude, int nexclude,
                  struct sr_unpack_result *res);

/* A layer tar from in_fd, gzip-compressed to out_fd (no timestamp: the same input gives the
 * same bytes); `sink` gets every byte written. res->bytes counts the input. */
int sr_gzip_stream(int in_fd, int out_fd, sr_sink_fn sink, void *ctx, struct sr_unpack_result *res);

/* 1 if the file at fd is a tar archive (plain, gzip, bzip2, xz or zstd), by its content. */
int sr_is_tar(int fd);

struct archive;
struct archive *sr_tar_open(int fd);
int sr_tar_add_fd(struct archive *a, const char *name, int src_fd, int64_t size);
int sr_tar_add_bytes(struct archive *a, const char *name, const void *data, size_t len);
int sr_tar_close(struct archive *a, int failed, char *err, size_t errcap);

#endif
