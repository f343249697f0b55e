import CShim
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// linux.seccomp → BPF, built with libseccomp in the parent; the init only loads it.
public enum Seccomp {
    public struct Program: Equatable {
        public var bpf: [UInt8]
        public var flags: UInt32
    }

    static func action(_ name: String, errnoRet: UInt32?, defaultErrno: UInt32) throws -> UInt32 {
        switch name {
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0x0000_0000
        case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
        case "SCMP_ACT_TRAP": return 0x0003_0000
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | ((errnoRet ?? defaultErrno) & 0xffff)
        case "SCMP_ACT_TRACE": return 0x7ff0_0000 | ((errnoRet ?? defaultErrno) & 0xffff)
        case "SCMP_ACT_LOG": return 0x7ffc_0000
        case "SCMP_ACT_ALLOW": return 0x7fff_0000
        case "SCMP_ACT_NOTIFY": return 0x7fc0_0000
        default: throw Failure("unknown seccomp action \(name)")
        }
    }

    static func compare(_ op: String) throws -> Int32 {
        switch op {
        case "SCMP_CMP_NE": return 1
        case "SCMP_CMP_LT": return 2
        case "SCMP_CMP_LE": return 3
        case "SCMP_CMP_EQ": return 4
        case "SCMP_CMP_GE": return 5
        case "SCMP_CMP_GT": return 6
        case "SCMP_CMP_MASKED_EQ": return 7
        default: throw Failure("unknown seccomp operator \(op)")
        }
    }

    static func flag(_ name: String) throws -> UInt32 {
        switch name {
        case "SECCOMP_FILTER_FLAG_TSYNC": return 1
        case "SECCOMP_FILTER_FLAG_LOG": return 2
        case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": return 4
        case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": return waitKillableRecv // kept only with a listener
        default: throw Failure("unknown seccomp flag \(name)")
        }
    }

    /// Builds the filter. Syscalls unknown to this architecture are skipped (as runc does).
    public static func build(_ spec: Spec.Seccomp) throws -> Program {
        let defErrno = spec.defaultErrnoRet ?? UInt32(EPERM)
        let defAction = try action(spec.defaultAction, errnoRet: spec.defaultErrnoRet, defaultErrno: defErrno)
        guard let ctx = seccomp_init(defAction) else { throw Failure("seccomp_init failed for default action \(spec.defaultAction)") }
        defer { seccomp_release(ctx) }
        // A binary tree over the syscall numbers instead of one comparison per rule: an
        // allowlist (Docker's has ~350 names) otherwise costs every syscall a walk down the
        // whole list, and a health probe ~1.8 ms more than with no filter (measured).
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for arch in spec.architectures ?? [] {
            let name = archName(arch)
            let token = seccomp_arch_resolve_name(name)
            if token == 0 { throw Failure("unknown seccomp architecture \(arch)") }
            let rc = seccomp_arch_add(ctx, token)
            if rc < 0 && rc != -EEXIST { throw Failure("seccomp_arch_add \(arch): \(SysError.describe(-rc))") }
        }
        var flags: UInt32 = 0
        for f in spec.flags ?? [] { flags |= try flag(f) }
        let listener = !(spec.listenerPath ?? "").isEmpty
        // With a listenerPath the filter is loaded with NEW_LISTENER (even with no NOTIFY
        // rule, as runc and crun do) and its fd goes to the agent there.
        flags = listener ? flags | newListener : flags & ~waitKillableRecv
        if defAction == notify {
            throw Failure("seccomp defaultAction SCMP_ACT_NOTIFY: every syscall would wait for the agent, also those that hand it the listener; notify named syscalls instead")
        }

        for rule in spec.syscalls ?? [] {
            let act = try action(rule.action, errnoRet: rule.errnoRet, defaultErrno: UInt32(EPERM))
            if act == notify {
                guard listener else {
                    throw Failure("seccomp action SCMP_ACT_NOTIFY for \(rule.names.joined(separator: ",")) needs linux.seccomp.listenerPath (the agent that answers the notifications)")
                }
                // The init sends the listener with sendmsg after loading the filter: notified,
                // it would wait for an agent that can only get the fd from that very call.
                if rule.names.contains("sendmsg") {
                    throw Failure("seccomp action SCMP_ACT_NOTIFY cannot apply to sendmsg: the runtime hands over the listener with it")
                }
            }
            if act == defAction { continue } // libseccomp refuses rules that repeat the default
            let args = rule.args ?? []
            for a in args where a.index > 5 { throw Failure("seccomp rule for \(rule.names): argument index \(a.index) > 5") }
            // Two conditions on the same argument cannot be ANDed by libseccomp: add each as its own rule.
            let indexes = args.map { $0.index }
            let groups: [[Spec.Seccomp.Arg]] = Set(indexes).count == indexes.count ? [args] : args.map { [$0] }
            for name in rule.names {
                let nr = seccomp_syscall_resolve_name(name)
                if nr == __NR_SCMP_ERROR { continue }
                for g in groups {
                    let idx = g.map { UInt32($0.index) }
                    let ops = try g.map { try compare($0.op) }
                    let vals = g.map { $0.value }
                    let vals2 = g.map { $0.valueTwo ?? 0 }
                    let rc = sr_seccomp_rule(ctx, act, nr, UInt32(g.count), idx, ops, vals, vals2)
                    if rc < 0 { throw Failure("seccomp rule for \(name): \(SysError.describe(-rc))") }
                }
            }
        }
        var buf: UnsafeMutableRawPointer?
        var len = 0
        let rc = sr_seccomp_export(ctx, &buf, &len)
        if rc < 0 { throw Failure("seccomp_export_bpf: \(SysError.describe(-rc))") }
        defer { free(buf) }
        var bytes = [UInt8](UnsafeRawBufferPointer(start: buf, count: len))
        if defAction & 0xffff_0000 != 0x7fff_0000 && defAction != 0x7ffc_0000 {
            bytes = enosysStub(above: maxKnownSyscall) + bytes
        }
        return Program(bpf: bytes, flags: flags)
    }

    static let notify: UInt32 = 0x7fc0_0000
    /// SECCOMP_FILTER_FLAG_NEW_LISTENER: seccomp() returns the notify fd.
    public static let newListener: UInt32 = 8
    /// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: meaningful only with a listener.
    static let waitKillableRecv: UInt32 = 32

    /// The highest x86-64 syscall number this libseccomp can name. A profile cannot list
    /// anything above it, so such a syscall is newer than every profile we build.
    static let maxKnownSyscall: UInt32 = {
        for nr in stride(from: 1023, through: 0, by: -1) {
            if let name = seccomp_syscall_resolve_num_arch(0xC000_003E, Int32(nr)) { free(name); return UInt32(nr) }
        }
        return 0
    }()

    /// Classic BPF run before libseccomp's program: on x86-64 (not x32), a syscall above
    /// `max` fails with ENOSYS rather than the profile's default. A libc that tries a new
    /// syscall first (clone3, fchmodat2, ...) then falls back instead of failing on EPERM,
    /// as with runc's ENOSYS patch.
    static func enosysStub(above max: UInt32) -> [UInt8] {
        func insn(_ code: UInt16, _ jt: UInt8, _ jf: UInt8, _ k: UInt32) -> [UInt8] {
            [UInt8(code & 0xff), UInt8(code >> 8), jt, jf,
             UInt8(k & 0xff), UInt8((k >> 8) & 0xff), UInt8((k >> 16) & 0xff), UInt8(k >> 24)]
        }
        let ldAbs: UInt16 = 0x20, jeq: UInt16 = 0x15, jgt: UInt16 = 0x25, jge: UInt16 = 0x35, ret: UInt16 = 0x06
        return insn(ldAbs, 0, 0, 4)                      // 0: A = seccomp_data.arch
            + insn(jeq, 0, 4, 0xC000_003E)               // 1: not AUDIT_ARCH_X86_64 → 6
            + insn(ldAbs, 0, 0, 0)                       // 2: A = seccomp_data.nr
            + insn(jge, 2, 0, 0x4000_0000)               // 3: x32 (__X32_SYSCALL_BIT) → 6
            + insn(jgt, 0, 1, max)                       // 4: newer than we know → 5, else 6
            + insn(ret, 0, 0, 0x0005_0000 | UInt32(ENOSYS)) // 5: SECCOMP_RET_ERRNO | ENOSYS
    }

    /// `build`, through a cache of compiled filters in `dir` (root-only, inside the state
    /// root): compiling Docker's allowlist takes libseccomp 10-20 ms, the same for every
    /// container. An entry holds its whole key (the profile's JSON and the libseccomp
    /// version) and is used only when that matches exactly; the file name is a hash of it.
    /// Whoever can write there could already rewrite any container's state.
    public static func cached(_ spec: Spec.Seccomp, dir: String) throws -> Program {
        let v = seccomp_version()
        let version = v.map { "libseccomp \($0.pointee.major).\($0.pointee.minor).\($0.pointee.micro)" } ?? "libseccomp ?"
        // Bump the tail when build() changes what a spec compiles to (notify 1: listenerPath
        // now sets NEW_LISTENER; entries from before held flags without it).
        let key = try JSON.encode(spec) + Array("\n\(version), enosys stub 1, notify 1".utf8)
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let path = dir + "/" + String(h, radix: 16).leftPad(16) + ".bpf"
        if let data = try? Files.read(path), data.count >= 8 {
            func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(data[at + $1]) << (8 * $1) } }
            let keyLen = u32(0), flags = u32(4)
            if 8 + keyLen <= data.count, data[8..<(8 + keyLen)].elementsEqual(key), (data.count - 8 - keyLen) % 8 == 0 {
                return Program(bpf: Array(data[(8 + keyLen)...]), flags: UInt32(flags))
            }
        }
        let p = try build(spec)
        func le(_ x: Int) -> [UInt8] { (0..<4).map { UInt8((x >> (8 * $0)) & 0xff) } }
        if (try? Files.mkdirAll(dir, mode: 0o700)) != nil {
            try? Files.writeAtomic(path, le(key.count) + le(Int(p.flags)) + key + p.bpf, mode: 0o600)
        }
        return p
    }

    static func archName(_ arch: String) -> String {
        var n = arch
        if n.hasPrefix("SCMP_ARCH_") { n.removeFirst(10) }
        return n.lowercased()
    }
}
