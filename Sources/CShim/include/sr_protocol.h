/* The protocol between the runtime (Swift) and swiftrun-init (C).
 *
 * The runtime compiles the OCI spec into a list of operations (the "plan"), clones
 * the init process and writes the plan to it over a socketpair. swiftrun-init runs
 * the operations in order and answers with fixed-size reports. The plan format:
 *
 *   u32 magic, u32 op count, then per op: u16 code, u16 argc, argc x (u32 len, bytes, NUL)
 *
 * Integers travel as 8-byte little-endian arguments; strings are NUL-terminated
 * (the NUL is not counted in len). Keep this file free of anything but constants
 * and POD structs: it is compiled by both SwiftPM and a plain `cc -static`.
 */
#ifndef SR_PROTOCOL_H
#define SR_PROTOCOL_H

#include <stdint.h>

#define SR_PLAN_MAGIC 0x31495253u /* "SRI1" */
#define SR_PLAN_MAX (64u << 20)

enum sr_op_code {
    SR_OP_PROPAGATION = 1, /* i64 mount flags for "/" (MS_REC|MS_SLAVE ...) */
    SR_OP_ROOTFS,          /* str rootfs path: bind it onto itself, keep an fd */
    SR_OP_MOUNT,           /* i64 kind, str src, str dst, str fstype, i64 attr_set, i64 attr_clr,
                              i64 propagation, i64 flags (SR_MNT_*), then (str key, str value)... */
    SR_OP_MKDEV,           /* str path, i64 mode (with S_IF*), i64 major, i64 minor, i64 uid, i64 gid */
    SR_OP_SYMLINK,         /* str target, str linkpath (inside rootfs) */
    SR_OP_MASK,            /* str path (inside rootfs): /dev/null over files, ro tmpfs over dirs */
    SR_OP_READONLY,        /* str path (inside rootfs): recursive read-only bind onto itself */
    SR_OP_ROOT_READONLY,   /* make the rootfs mount read-only */
    SR_OP_PIVOT,           /* pivot_root into the rootfs and detach the old root */
    SR_OP_HOSTNAME,        /* str */
    SR_OP_DOMAINNAME,      /* str */
    SR_OP_SYSCTL,          /* str key (dotted), str value */
    SR_OP_OOM_SCORE_ADJ,   /* i64 */
    SR_OP_RLIMIT,          /* i64 resource, i64 soft, i64 hard */
    SR_OP_UMASK,           /* i64 */
    SR_OP_NO_NEW_PRIVS,
    SR_OP_SECCOMP,         /* bytes: struct sock_filter[], i64 flags */
    SR_OP_CAP_BOUNDING,    /* i64 mask of caps to keep in the bounding set */
    SR_OP_USER,            /* i64 uid, i64 gid, i64 groups... */
    SR_OP_CAPS,            /* i64 effective, i64 permitted, i64 inheritable, i64 ambient */
    SR_OP_CHDIR,           /* str cwd */
    SR_OP_CLOSE_FDS,       /* i64 first fd that must not reach the container */
    SR_OP_LOOKUP,          /* str file, str PATH: resolve the executable, remember it */
    SR_OP_READY,           /* report READY to the runtime */
    SR_OP_WAIT_START,      /* block on the exec fifo until `start` */
    SR_OP_HOOK,            /* str path, str stdin (state JSON), i64 timeout s, i64 argc, argv..., env... */
    SR_OP_EXEC,            /* i64 argc, argv..., env... (file from the last SR_OP_LOOKUP) */
    SR_OP_SETSID,          /* new session (for a terminal) */
    SR_OP_DEATHSIG,        /* i64 signal sent when the creating process dies (0: none, once created) */
    SR_OP_MKDIR,           /* str path inside the rootfs (mkdir -p, resolved in root) */
    SR_OP_SYNC,            /* report SYNC and wait for one byte (createRuntime hooks run meanwhile) */
    SR_OP_SETNS,           /* str path, i64 CLONE_NEW* type: join an existing namespace */
    SR_OP_JOIN,            /* i64 CLONE_NEW* flags: setns into the container through the pidfd (argv[3]) */
    SR_OP_FORK,            /* fork; the parent reports PID (the child's) and exits, the child goes on */
    SR_OP_CONSOLE,         /* i64 rows, i64 cols, i64 bind /dev/console: make a pty in the container's
                              devpts, send the master with a CONSOLE report, take the peer as stdio */
    SR_OP_LOOPBACK_UP,     /* bring up lo in the new network namespace (Docker does; runc leaves it) */
    SR_OP_REAPER,          /* at SR_OP_EXEC: fork; stay as PID 1 reaping zombies and forwarding signals (--init) */
    SR_OP_UNSHARE,         /* i64 CLONE_NEW* flags: new namespaces, owned by a user namespace joined before */
    SR_OP_MAPS,            /* report MAPS, wait for the runtime to write our new user namespace's maps, become its root */
    SR_OP_MAX
};

enum sr_mount_kind { SR_MNT_KIND_FS = 1, SR_MNT_KIND_BIND = 2 };
#define SR_MNT_RECURSIVE 0x1u   /* rbind: clone the whole tree */
#define SR_MNT_NO_SYMLINKS 0x2u /* refuse symlinks in the destination (proc, sysfs) */
#define SR_MNT_PREMADE 0x4u     /* bind: the runtime makes the tree (idmapped, or any bind with a user
                                   namespace) and sends it over the sync socket */

enum sr_report_kind {
    SR_REPORT_READY = 1,
    SR_REPORT_ERROR = 2,
    SR_REPORT_NOT_FOUND = 3, /* the executable was not found: exit 127 */
    SR_REPORT_NOT_EXEC = 4,  /* found but cannot be executed: exit 126 */
    SR_REPORT_SYNC = 5,      /* paused at SR_OP_SYNC */
    SR_REPORT_PID = 6,       /* SR_OP_FORK: `pid` is the process that will exec */
    SR_REPORT_CONSOLE = 7,   /* carries the pty master as SCM_RIGHTS */
    SR_REPORT_SECCOMP = 8,   /* carries the seccomp notify listener as SCM_RIGHTS */
    SR_REPORT_MAPS = 9,      /* at SR_OP_MAPS: write uid_map/gid_map of `pid`'s user namespace */
};

/* Fixed-size so that the clone child can send one with a single write. */
struct sr_report {
    uint32_t kind;
    int32_t err;     /* errno */
    uint32_t op;     /* index of the failing op */
    int32_t pid;     /* SR_REPORT_PID */
    char step[64];   /* what we were doing: "mount proc", "pivot_root" */
    char call[32];   /* the syscall: "fsmount" */
    char path[512];  /* the path it was about */
};

#endif
