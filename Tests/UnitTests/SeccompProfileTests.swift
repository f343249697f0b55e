import XCTest
import CShim
@testable import Engine
import OCI
import OS
@testable import Runtime

/// The default profile, compiled by libseccomp exactly as a container gets it, then run
/// by a small classic-BPF interpreter on chosen syscalls: no root and no kernel needed.
final class SeccompProfileTests: XCTestCase {
    static let x86_64: UInt32 = 0xC000_003E, i386: UInt32 = 0x4000_0003
    static let allow: UInt32 = 0x7fff_0000, eperm: UInt32 = 0x0005_0001, enosys: UInt32 = 0x0005_0026

    /// What the filter returns for this syscall (struct seccomp_data: nr, arch, ip, args).
    func verdict(_ bpf: [UInt8], nr: UInt32, arch: UInt32 = x86_64, args: [UInt64] = [],
                 file: StaticString = #filePath, line: UInt = #line) -> UInt32 {
        var data = [UInt8](repeating: 0, count: 64)
        func put32(_ v: UInt32, _ at: Int) { for i in 0..<4 { data[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) } }
        put32(nr, 0); put32(arch, 4)
        for (i, a) in args.enumerated() { put32(UInt32(a & 0xffff_ffff), 16 + 8 * i); put32(UInt32(a >> 32), 20 + 8 * i) }
        func get32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(data[at + $1]) << (8 * UInt32($1)) } }
        var a: UInt32 = 0, x: UInt32 = 0, mem = [UInt32](repeating: 0, count: 16), pc = 0
        let n = bpf.count / 8
        while pc < n {
            let o = pc * 8
            let code = UInt16(bpf[o]) | UInt16(bpf[o + 1]) << 8, jt = Int(bpf[o + 2]), jf = Int(bpf[o + 3])
            let k = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bpf[o + 4 + $1]) << (8 * UInt32($1)) }
            pc += 1
            switch code {
            case 0x20: a = get32(Int(k))                     // ld [k]
            case 0x60: a = mem[Int(k)]                       // ld M[k]
            case 0x61: x = mem[Int(k)]                       // ldx M[k]
            case 0x02: mem[Int(k)] = a                       // st M[k]
            case 0x03: mem[Int(k)] = x                       // stx M[k]
            case 0x54: a &= k                                // and #k
            case 0x07: x = a                                 // tax
            case 0x87: a = x                                 // txa
            case 0x05: pc += Int(k)                          // ja
            case 0x15: pc += a == k ? jt : jf                // jeq #k
            case 0x25: pc += a > k ? jt : jf                 // jgt #k
            case 0x35: pc += a >= k ? jt : jf                // jge #k
            case 0x45: pc += a & k != 0 ? jt : jf            // jset #k
            case 0x06: return k                              // ret #k
            default:
                XCTFail(String(format: "BPF opcode 0x%02x not interpreted", code), file: file, line: line)
                return 0
            }
        }
        XCTFail("BPF ran off its end", file: file, line: line)
        return 0
    }

    func nr(_ name: String) -> UInt32 { UInt32(seccomp_syscall_resolve_name(name)) }

    func testDefaultProfileIsAnAllowlist() throws {
        let bpf = try Seccomp.build(DefaultSeccomp.profile(capabilities: Engine.defaultCapabilities)).bpf
        XCTAssertLessThanOrEqual(bpf.count / 8, 4096, "BPF_MAXINSNS")
        for ok in ["read", "write", "openat", "execve", "futex", "epoll_pwait", "fchmodat2", "rseq", "setuid", "chown"] {
            XCTAssertEqual(verdict(bpf, nr: nr(ok)), Self.allow, ok)
        }
        for denied in ["mount", "umount2", "unshare", "setns", "pivot_root", "keyctl", "add_key", "bpf",
                       "open_by_handle_at", "init_module", "kexec_load", "reboot", "io_uring_setup", "userfaultfd",
                       "perf_event_open", "settimeofday", "kcmp", "pidfd_getfd"] {
            XCTAssertEqual(verdict(bpf, nr: nr(denied)), Self.eperm, denied)
        }
        XCTAssertEqual(verdict(bpf, nr: nr("ptrace")), Self.allow, "ptrace on a kernel >= 4.8")
        XCTAssertEqual(verdict(bpf, nr: nr("chroot")), Self.allow, "CAP_SYS_CHROOT is a default capability")
        // Arguments: namespace flags on clone, AF_VSOCK, personality values.
        let clone = nr("clone")
        XCTAssertEqual(verdict(bpf, nr: clone, args: [0x3d0f00]), Self.allow, "a thread")
        XCTAssertEqual(verdict(bpf, nr: clone, args: [0x1000_0000 | 17]), Self.eperm, "CLONE_NEWUSER")
        XCTAssertEqual(verdict(bpf, nr: nr("clone3")), Self.enosys, "clone3 → ENOSYS so glibc falls back")
        XCTAssertEqual(verdict(bpf, nr: nr("socket"), args: [2]), Self.allow)
        XCTAssertEqual(verdict(bpf, nr: nr("socket"), args: [40]), Self.eperm, "AF_VSOCK")
        XCTAssertEqual(verdict(bpf, nr: nr("personality"), args: [0xffff_ffff]), Self.allow)
        XCTAssertEqual(verdict(bpf, nr: nr("personality"), args: [0x0040_0000]), Self.eperm, "READ_IMPLIES_EXEC")
        // Newer than libseccomp knows: ENOSYS on x86-64; x32 and i386 keep the default.
        XCTAssertEqual(verdict(bpf, nr: Seccomp.maxKnownSyscall + 1), Self.enosys)
        XCTAssertEqual(verdict(bpf, nr: 1000), Self.enosys)
        XCTAssertEqual(verdict(bpf, nr: 0x4000_0000 | 1000), Self.eperm, "x32")
        XCTAssertEqual(verdict(bpf, nr: 1000, arch: Self.i386), Self.eperm, "i386")
        XCTAssertEqual(verdict(bpf, nr: 3, arch: Self.i386), Self.allow, "i386 read")
        // An allow-by-default filter has no stub: anything unlisted is allowed.
        let open = try Seccomp.build(.init(defaultAction: "SCMP_ACT_ALLOW", syscalls: [.init(names: ["mount"], action: "SCMP_ACT_ERRNO")])).bpf
        XCTAssertEqual(verdict(open, nr: 1000), Self.allow)
        XCTAssertEqual(verdict(open, nr: nr("mount")), Self.eperm)
    }

    /// Docker's rule: the privileged syscalls follow the capabilities.
    func testCapabilitiesOpenTheirSyscalls() throws {
        let admin = try Seccomp.build(DefaultSeccomp.profile(capabilities: Engine.defaultCapabilities + ["CAP_SYS_ADMIN"])).bpf
        XCTAssertEqual(verdict(admin, nr: nr("mount")), Self.allow)
        XCTAssertEqual(verdict(admin, nr: nr("unshare")), Self.allow)
        XCTAssertEqual(verdict(admin, nr: nr("clone"), args: [0x1000_0000 | 17]), Self.allow)
        XCTAssertEqual(verdict(admin, nr: nr("clone3")), Self.allow)
        XCTAssertEqual(verdict(admin, nr: nr("reboot")), Self.eperm, "CAP_SYS_BOOT is separate")
        let time = try Seccomp.build(DefaultSeccomp.profile(capabilities: ["CAP_SYS_TIME"])).bpf
        XCTAssertEqual(verdict(time, nr: nr("settimeofday")), Self.allow)
        XCTAssertEqual(verdict(time, nr: nr("mount")), Self.eperm)
    }

    func testKernelVersionConditions() {
        XCTAssertEqual(DockerSeccomp.version("6.18.44-amd64"), [6, 18, 44])
        var p = DefaultSeccomp.docker()
        p.syscalls = [.init(names: ["ptrace"], action: "SCMP_ACT_ALLOW", includes: .init(minKernel: "4.8"))]
        XCTAssertEqual(p.resolved(capabilities: [], kernel: [4, 4]).syscalls?.count, 0)
        XCTAssertEqual(p.resolved(capabilities: [], kernel: [4, 8, 0]).syscalls?.count, 1)
        XCTAssertEqual(p.resolved(capabilities: [], kernel: [5]).syscalls?.count, 1)
    }
}

final class SeccompCacheTests: XCTestCase {
    /// A compiled filter is kept and reused only for exactly the same profile.
    func testCacheReturnsWhatBuildWouldAndChecksItsKey() throws {
        let dir = "/tmp/swiftrun-seccomp-cache-test-\(getpid())"
        defer { try? Files.removeTree(dir) }
        let profile = DefaultSeccomp.profile(capabilities: Engine.defaultCapabilities)
        let built = try Seccomp.build(profile)
        XCTAssertEqual(try Seccomp.cached(profile, dir: dir), built, "first use compiles")
        let files = try Files.list(dir)
        XCTAssertEqual(files.count, 1)
        // The second use reads the entry: an entry whose program was swapped (same key) is
        // what comes back, which shows the file is used...
        let path = dir + "/" + files[0]
        let original = try Files.read(path)
        var swapped = original
        for i in (swapped.count - 8)..<swapped.count { swapped[i] = 0 }
        try Files.writeAtomic(path, swapped)
        XCTAssertNotEqual(try Seccomp.cached(profile, dir: dir), built, "the cache is read")
        // ...and an entry whose key does not match (a hash collision, a hand edit) is not
        // trusted: the filter is compiled again and the entry rewritten.
        var foreign = swapped
        foreign[9] ^= 0xff
        try Files.writeAtomic(path, foreign)
        XCTAssertEqual(try Seccomp.cached(profile, dir: dir), built)
        XCTAssertEqual(try Files.read(path), original, "rewritten with the right program")
        let admin = DefaultSeccomp.profile(capabilities: Engine.defaultCapabilities + ["CAP_SYS_ADMIN"])
        XCTAssertEqual(try Seccomp.cached(admin, dir: dir), try Seccomp.build(admin), "another profile, another entry")
        XCTAssertEqual(try Files.list(dir).count, 2)
        XCTAssertThrowsError(try Runtime.validateID(".seccomp-cache"))
    }
}
