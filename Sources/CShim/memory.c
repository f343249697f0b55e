#define _GNU_SOURCE
#include "internal.h"

#include <malloc.h>
#include <poll.h>
#include <sys/mman.h>

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

