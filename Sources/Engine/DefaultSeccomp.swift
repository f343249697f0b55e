import OCI

/// The seccomp filter `run` applies: the syscalls Docker's default profile keeps from an
/// unprivileged container, denied with EPERM. Docker's profile is an allowlist; this is
/// the deny-list of what it blocks, so a syscall newer than this list is allowed. Porting
/// the allowlist itself is part of the engine issue.
public enum DefaultSeccomp {
    static let denied = [
        // Namespaces from inside (user namespaces open much kernel attack surface).
        "unshare", "setns",
        // Mounting, old and new API, and root switching.
        "mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
        "move_mount", "open_tree", "mount_setattr",
        // Kernel keys, BPF, perf, userfaultfd, io_uring.
        "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
        "io_uring_setup", "io_uring_enter", "io_uring_register",
        // Kernel modules, kexec, reboot, swap, accounting, quotas.
        "init_module", "finit_module", "delete_module", "create_module", "query_module", "get_kernel_syms",
        "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
        // Clocks, I/O ports, other processes' memory, file handles, NUMA, old interfaces.
        "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64", "adjtimex",
        "ioperm", "iopl", "process_vm_readv", "process_vm_writev", "ptrace", "kcmp",
        "name_to_handle_at", "open_by_handle_at", "lookup_dcookie", "nfsservctl", "uselib", "ustat", "sysfs",
        "_sysctl", "vm86", "vm86old", "mbind", "set_mempolicy", "get_mempolicy", "move_pages",
    ]

    /// clone() with a namespace flag (its flags are a register: filterable). clone3 passes
    /// them in memory, which seccomp cannot read: it gets ENOSYS, so libc falls back to clone.
    static let namespaceFlags: [UInt64] = [0x0002_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000,
                                           0x4000_0000, 0x0200_0000]

    public static func profile() -> Spec.Seccomp {
        var rules: [Spec.Seccomp.Syscall] = [
            .init(names: denied, action: "SCMP_ACT_ERRNO", errnoRet: 1),
            .init(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38),
        ]
        for f in namespaceFlags {
            rules.append(.init(names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
                               args: [.init(index: 0, value: f, valueTwo: f, op: "SCMP_CMP_MASKED_EQ")]))
        }
        return Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW",
                            architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls: rules)
    }
}
