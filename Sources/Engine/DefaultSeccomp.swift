import OCI

/// Docker's default seccomp profile, as an allowlist: everything not named here fails
/// with EPERM (and a syscall newer than libseccomp knows with ENOSYS, see Seccomp.build),
/// and the privileged syscalls are allowed only with the capability that would let a
/// process use them anyway, so that `--cap-add SYS_ADMIN` lets `mount` through as in
/// Docker. The syscall names are moby's (profiles/seccomp/default.json, read for the
/// facts); two changes follow moby's later releases: io_uring is not allowed (a long run
/// of kernel CVEs, e.g. CVE-2023-2598, CVE-2024-0582) and the futex2/fchmodat2 family that
/// new glibc uses is.
public enum DefaultSeccomp {
    /// Allowed for every container: process-local work, files through the caller's own
    /// permissions, sockets, IPC in the container's own namespaces.
    static let allowed: [String] = [
        // files and directories
        "access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chmod", "fchmod", "fchmodat", "fchmodat2",
        "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "creat", "open", "openat", "openat2",
        "close", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "link", "linkat", "symlink", "symlinkat",
        "readlink", "readlinkat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir",
        "mknod", "mknodat", "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat", "statx",
        "statfs", "statfs64", "fstatfs", "fstatfs64", "getdents", "getdents64", "truncate", "truncate64", "ftruncate",
        "ftruncate64", "fallocate", "fadvise64", "fadvise64_64", "readahead", "umask", "utime", "utimes", "utimensat",
        "utimensat_time64", "futimesat", "sync", "syncfs", "fsync", "fdatasync", "sync_file_range",
        "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr", "llistxattr",
        "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "fanotify_mark",
        "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
        // reading and writing
        "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
        "lseek", "_llseek", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range", "ioctl",
        "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
        "ioprio_get", "ioprio_set",
        // waiting and events
        "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old", "epoll_pwait",
        "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create", "timerfd_settime",
        "timerfd_settime64", "timerfd_gettime", "timerfd_gettime64", "pause",
        "futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
        "set_robust_list", "get_robust_list", "nanosleep", "clock_nanosleep", "clock_nanosleep_time64",
        // memory
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock", "mlock2",
        "mlockall", "munlock", "munlockall", "remap_file_pages", "membarrier", "memfd_create", "memfd_secret",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "map_shadow_stack",
        // processes, threads and signals
        "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "waitpid", "kill", "tkill",
        "tgkill", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
        "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack",
        "sigprocmask", "sigreturn", "restart_syscall", "pidfd_open", "pidfd_send_signal", "process_mrelease",
        "set_tid_address", "set_thread_area", "get_thread_area", "rseq", "prctl", "seccomp", "capget", "capset",
        "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
        "getpriority", "setpriority", "getrlimit", "setrlimit", "ugetrlimit", "prlimit64", "getrusage", "times",
        "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr", "sched_getparam",
        "sched_setparam", "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max",
        "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64", "getcpu",
        "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
        // identity
        "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
        "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
        "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
        "setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups", "setgroups32",
        "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
        // time (reading it; the namespaced clock_adjtime only reads without CAP_SYS_TIME)
        "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
        "adjtimex", "clock_adjtime", "clock_adjtime64", "alarm", "getitimer", "setitimer",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64",
        // sockets (socket itself has its own rule below)
        "socketpair", "socketcall", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername",
        "getsockopt", "setsockopt", "shutdown", "send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom",
        "recvmsg", "recvmmsg", "recvmmsg_time64",
        // System V and POSIX IPC (the container has its own IPC namespace)
        "ipc", "msgget", "msgctl", "msgsnd", "msgrcv", "semget", "semctl", "semop", "semtimedop", "semtimedop_time64",
        "shmget", "shmctl", "shmat", "shmdt", "mq_open", "mq_unlink", "mq_getsetattr", "mq_notify",
        "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
        // the rest
        "pipe", "pipe2", "getrandom", "uname", "sysinfo", "name_to_handle_at",
    ]

    /// Allowed only with a capability: the syscall is what the capability is for.
    static let withCapability: [(cap: String, names: [String])] = [
        ("CAP_SYS_ADMIN", ["bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                           "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
                           "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
                           "umount2", "unshare"]),
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]), // CVE-2014-3519 ("shocker")
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
    ]

    /// clone(2) flags that make namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET.
    static let namespaceFlags: UInt64 = 0x7E02_0000

    /// The profile in Docker's own format, so that it goes through the same resolution
    /// (capabilities, architecture, kernel) as a profile given with --security-opt.
    static func docker() -> DockerSeccomp {
        typealias S = DockerSeccomp.Syscall
        func allow(_ names: [String], caps: [String]? = nil, arches: [String]? = nil, minKernel: String? = nil,
                   args: [Spec.Seccomp.Arg]? = nil, excludeCaps: [String]? = nil) -> S {
            S(names: names, action: "SCMP_ACT_ALLOW", args: args,
              includes: caps == nil && arches == nil && minKernel == nil ? nil
                  : .init(caps: caps, arches: arches, minKernel: minKernel),
              excludes: excludeCaps.map { .init(caps: $0) })
        }
        var rules: [S] = [allow(allowed)]
        // ptrace of one's own children is safe from 4.8 on (seccomp is rechecked after it).
        rules.append(allow(["process_vm_readv", "process_vm_writev", "ptrace"], minKernel: "4.8"))
        // Any socket family but AF_VSOCK (40): it reaches the host's hypervisor.
        rules.append(allow(["socket"], args: [.init(index: 0, value: 40, op: "SCMP_CMP_NE")]))
        // personality(): Linux, UNAME26, ADDR_NO_RANDOMIZE and the query.
        for v: UInt64 in [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
            rules.append(allow(["personality"], args: [.init(index: 0, value: v, op: "SCMP_CMP_EQ")]))
        }
        rules.append(allow(["arch_prctl"], arches: ["amd64", "x32"]))
        rules.append(allow(["modify_ldt"], arches: ["amd64", "x32", "x86"]))
        for (cap, names) in withCapability { rules.append(allow(names, caps: [cap])) }
        // Without CAP_SYS_ADMIN: clone without namespace flags. clone3 passes its flags in
        // memory that seccomp cannot read: ENOSYS makes glibc fall back to clone.
        rules.append(allow(["clone"], args: [.init(index: 0, value: namespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")],
                           excludeCaps: ["CAP_SYS_ADMIN"]))
        rules.append(S(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38, excludes: .init(caps: ["CAP_SYS_ADMIN"])))
        return DockerSeccomp(defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
                             archMap: [.init(architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"])],
                             syscalls: rules)
    }

    /// The filter for a container with these capabilities.
    public static func profile(capabilities: [String]) -> Spec.Seccomp {
        docker().resolved(capabilities: capabilities)
    }
}
