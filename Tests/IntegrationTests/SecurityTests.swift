import CShim
import SeccompAgent
import OCI
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

    /// linux.seccomp.listenerPath: the runtime hands each process's notify fd to an agent
    /// (here one in this test), which then decides the notified syscalls.
    func testSeccompNotifyGoesToTheAgentAtListenerPath() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        let agent = try SeccompAgent(path: b.dir + "/agent.sock", answer: EOPNOTSUPP)
        defer { agent.stop() }
        var sc = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW",
                              syscalls: [.init(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY")])
        sc.listenerPath = agent.path
        sc.listenerMetadata = "agent-metadata"
        b.spec.linux!.seccomp = sc
        XCTAssertEqual(try b.create().code, 0)
        // The create's message: the container process state, with the fd.
        let first = try XCTUnwrap(agent.message(0), "no message from create")
        XCTAssertEqual(first["ociVersion"] as? String, "0.2.0")
        XCTAssertEqual(first["fds"] as? [String], ["seccompFd"])
        XCTAssertEqual(first["metadata"] as? String, "agent-metadata")
        let state = try XCTUnwrap(first["state"] as? [String: Any])
        XCTAssertEqual(state["id"] as? String, b.id)
        XCTAssertEqual(state["status"] as? String, "creating")
        XCTAssertEqual(first["pid"] as? Int, try b.state()?.pid.map(Int.init))
        XCTAssertEqual(agent.fdsReceived, 1)
        XCTAssertEqual(try b.runc(["start", b.id]).code, 0)

        // exec: its own filter, its own fd to the agent, which refuses its mkdir.
        let r = try b.runc(["exec", b.id, "sh", "-c", "mkdir /tmp/x; echo mkdir=$?; test -d /tmp/x || echo absent; echo fds=$(ls -l /proc/self/fd | grep -c seccomp)"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("Operation not supported"), "the agent's answer: \(r.err)")
        XCTAssertEqual(lines(r.out), ["mkdir=1", "absent", "fds=0"], "no notify fd reaches the container")
        let second = try XCTUnwrap(agent.message(1), "no message from exec")
        XCTAssertEqual((second["state"] as? [String: Any])?["status"] as? String, "running")
        XCTAssertNotEqual(second["pid"] as? Int, first["pid"] as? Int)
        XCTAssertEqual(agent.answered.filter { $0 == 83 || $0 == 258 }.count, agent.answered.count)
        XCTAssertGreaterThan(agent.answered.count, 0)

        // An agent that is not there fails the create, and it leaves nothing.
        agent.stop()
        b.spec.linux!.seccomp!.listenerPath = b.dir + "/nobody.sock"
        let failed = try b.create(id: b.id + "-x")
        XCTAssertEqual(failed.code, 1)
        XCTAssertTrue(failed.err.contains("listenerPath") && failed.err.contains("nobody.sock"), failed.err)
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

/// A seccomp agent: accepts the runtime's messages on a unix socket, keeps them, and
/// answers every notification on the fds it gets with -answer.
final class SeccompAgent: @unchecked Sendable {
    let path: String
    private let listenFD: Int32
    private let lock = NSLock()
    private var messages: [[String: Any]] = []
    private var syscalls: [Int32] = []
    private var fds = 0
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init(path: String, answer: Int32) throws {
        self.path = path
        listenFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, c) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = c }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, listen(listenFD, 4) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
        Thread { [self] in serve(answer) }.start()
    }

    private func serve(_ answer: Int32) {
        var listeners: [Int32] = []
        while !lock.withLock({ stopped }) {
            var pfds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
                + listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&pfds, nfds_t(pfds.count), 50) > 0 else { continue }
            if pfds[0].revents & Int16(POLLIN) != 0 {
                let conn = accept(listenFD, nil, nil)
                var buf = [UInt8](repeating: 0, count: 65536)
                var fd: Int32 = -1
                let n = sr_recv_once(conn, &buf, buf.count, &fd)
                close(conn)
                if n > 0, let obj = try? JSONSerialization.jsonObject(with: Data(buf[..<Int(n)])) as? [String: Any] {
                    lock.withLock { messages.append(obj); fds += fd >= 0 ? 1 : 0 }
                }
                if fd >= 0 { listeners.append(fd) }
            }
            for p in pfds.dropFirst() where p.revents != 0 {
                var nr: Int32 = -1
                if p.revents & Int16(POLLIN) != 0, sr_seccomp_answer(p.fd, answer, &nr) == 0 {
                    lock.withLock { syscalls.append(nr) }
                } else if p.revents & Int16(POLLHUP) != 0 { // no process uses the filter any more
                    close(p.fd)
                    listeners.removeAll { $0 == p.fd }
                }
            }
        }
        listeners.forEach { close($0) }
        done.signal()
    }

    /// The i-th message, waiting up to 5 s for it.
    func message(_ i: Int) -> [String: Any]? {
        for _ in 0..<100 {
            if let m = lock.withLock({ messages.count > i ? messages[i] : nil }) { return m }
            usleep(50_000)
        }
        return nil
    }

    var fdsReceived: Int { lock.withLock { fds } }
    var answered: [Int32] { lock.withLock { syscalls } }

    func stop() {
        let first = lock.withLock { () -> Bool in defer { stopped = true }; return !stopped }
        guard first else { return }
        done.wait()
        close(listenFD)
        unlink(path)
    }
}
