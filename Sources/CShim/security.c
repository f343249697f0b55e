#define _GNU_SOURCE
#include "internal.h"

/* Security: seccomp filters through libseccomp (exported as BPF for the init to load),
 * capability names through libcap, the cgroup device filter as an eBPF program. */
#include <linux/bpf.h>
#include <sys/mman.h>

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
