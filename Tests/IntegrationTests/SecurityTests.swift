import Foundation
import XCTest

/// Capabilities, seccomp, no_new_privs, user switching, fds, signals, and the CVEs.
final class SecurityTests: XCTestCase {
    func testCapabilitiesAndNoNewPrivs() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.process!.capabilities = .init(bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"],
                                             inheritable: [], permitted: ["CAP_KILL", "CAP_CHOWN"], ambient: [])
        let r = try b.run(["cat", "/proc/self/status"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(statusField(r.out, "CapBnd"), "0000000000000021")
        // execve as uid 0 raises effective to permitted (the kernel's rule for root).
        XCTAssertEqual(statusField(r.out, "CapEff"), "0000000000000021")
        XCTAssertEqual(statusField(r.out, "CapPrm"), "0000000000000021")
        XCTAssertEqual(statusField(r.out, "CapAmb"), "0000000000000000")
        XCTAssertEqual(statusField(r.out, "NoNewPrivs"), "1")
    }

    func testNoSignalStateLeaksIntoTheContainer() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let r = try b.run(["cat", "/proc/self/status"])
        XCTAssertEqual(statusField(r.out, "SigBlk"), "0000000000000000")
        XCTAssertEqual(statusField(r.out, "SigIgn"), "0000000000000000")
    }

    func testSeccompDeniesWithTheSpecErrno() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.linux!.seccomp = .init(defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                                      syscalls: [.init(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1),
                                                 .init(names: ["sethostname"], action: "SCMP_ACT_ERRNO")])
        let r = try b.run(["sh", "-c", "mkdir /tmp/x; echo mkdir=$?; grep Seccomp: /proc/self/status"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("Operation not permitted"), r.err) // errno 1 = EPERM
        XCTAssertTrue(r.out.contains("mkdir=1"), r.out)
        XCTAssertTrue(r.out.contains("Seccomp:\t2"), r.out)
    }

    func testUserGroupsAndUmask() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.process!.user = .init(uid: 1000, gid: 1000, umask: 0o077, additionalGids: [2000, 100])
        b.spec.process!.cwd = "/home/app"
        let r = try b.run(["sh", "-c", "id; umask; pwd; grep -E '^(Uid|Gid|Groups):' /proc/self/status"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("uid=1000(appuser) gid=1000(appuser)"), r.out)
        XCTAssertTrue(r.out.contains("0077"), r.out)
        XCTAssertTrue(r.out.contains("/home/app"), r.out)
        XCTAssertEqual(statusField(r.out, "Groups"), "100 2000")
    }

    func testRlimits() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.process!.rlimits = [.init(type: "RLIMIT_NOFILE", hard: 512, soft: 256), .init(type: "RLIMIT_CORE", hard: 0, soft: 0)]
        let r = try b.run(["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["256", "512", "0"])
    }

    /// CVE-2024-21626: only 0, 1, 2 (and --preserve-fds) reach the container.
    func testOnlyStdioReachesTheContainer() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        // "; true" keeps the shell alive (a lone command is exec'd): list the shell's fds.
        let r = try b.run(["sh", "-c", "ls /proc/$$/fd; true"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["0", "1", "2"])
    }

    /// CVE-2019-5736: a container that execs /proc/self/exe gets the sealed copy of
    /// swiftrun-init, never a host binary it could overwrite.
    func testProcSelfExeIsTheSealedCopy() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let host = b.dir + "/x"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try "#!/proc/self/exe\n".write(toFile: host + "/evil", atomically: false, encoding: .utf8)
        chmod(host + "/evil", 0o755)
        b.spec.mounts!.append(.init(destination: "/x", type: "bind", source: host, options: ["rbind", "ro"]))
        let r = try b.run(["/x/evil"])
        XCTAssertEqual(r.code, 125, "swiftrun-init refuses to run outside the runtime: \(r.err)")
        XCTAssertTrue(r.err.contains("swiftrun-init is started by swiftrun only"), r.err)
    }

    /// A created container's init runs from a memfd sealed against writes: not merely busy
    /// (ETXTBSY would hold for any running binary) but unwritable for good.
    func testInitBinaryIsASealedMemfd() throws {
        let b = try TestBundle(args: ["true"])
        defer { b.cleanup() }
        XCTAssertEqual(try b.create().code, 0)
        let pid = try XCTUnwrap(b.state()?.pid)
        let fd = open("/proc/\(pid)/exe", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let seals = fcntl(fd, 1034 /* F_GET_SEALS */)
        XCTAssertGreaterThanOrEqual(seals, 0, "F_GET_SEALS works only on a memfd: errno \(errno)")
        XCTAssertNotEqual(seals & 0x8 /* F_SEAL_WRITE */, 0)
        XCTAssertNotEqual(seals & 0x1 /* F_SEAL_SEAL */, 0, "and the seals cannot be removed")
        XCTAssertLessThan(open("/proc/\(pid)/exe", O_WRONLY), 0)
    }

    /// Masked paths read empty; read-only paths refuse writes; the rootfs is read-only.
    func testMaskedAndReadonlyPaths() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let r = try b.run(["sh", "-c", "wc -c < /proc/keys; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ostype && echo wrote; touch /newfile && echo touched; echo ok"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["0", "0", "ok"])
        XCTAssertTrue(r.err.contains("Read-only file system"), r.err)
    }

    /// CVE-2019-19921: a rootfs whose /proc is a symlink cannot redirect the proc mount.
    func testSymlinkedProcIsRefused() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let rootfs = b.dir + "/evilroot"
        try FileManager.default.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestBundle.rootfsSource + "/bin/busybox", toPath: rootfs + "/bin/busybox")
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/bin/true", withDestinationPath: "busybox")
        try FileManager.default.createDirectory(atPath: rootfs + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/proc", withDestinationPath: "/elsewhere")
        b.spec.root = .init(path: rootfs, readonly: false)
        let r = try b.run(["/bin/true"])
        XCTAssertNotEqual(r.code, 0)
        XCTAssertTrue(r.err.contains("mount proc (destination is a symlink): openat2 /proc: ELOOP"), r.err)
    }
}

/// The device cgroup (eBPF): with CAP_MKNOD a container may create nodes but may open
/// only the devices its spec allows, never the host's disks or memory.
final class DeviceCgroupTests: XCTestCase {
    func testOnlyAllowedDevicesOpen() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let caps = ["CAP_MKNOD", "CAP_DAC_OVERRIDE"]
        b.spec.process!.capabilities = .init(bounding: caps, effective: caps, permitted: caps)
        b.spec.linux!.resources = .init()
        b.spec.linux!.resources!.devices = [.init(allow: false, type: nil, major: nil, minor: nil, access: "rwm"),
                                           .init(allow: true, type: "c", major: 10, minor: 229, access: "r")]
        let script = """
        mknod /dev/sdx b 8 0 && echo mknod; head -c1 /dev/sdx >/dev/null 2>&1 || echo disk-denied
        mknod /dev/mem2 c 1 1; head -c1 /dev/mem2 >/dev/null 2>&1 || echo mem-denied
        head -c1 /dev/zero | wc -c
        mknod /dev/f c 10 229; echo x > /dev/f 2>/dev/null || echo write-denied
        """
        let r = try b.run(["sh", "-c", script])
        XCTAssertEqual(lines(r.out), ["mknod", "disk-denied", "mem-denied", "1", "write-denied"], r.err)
    }
}
