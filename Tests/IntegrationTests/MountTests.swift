import Foundation
import XCTest
import OCI

/// Spec mounts: filesystems with options, binds, propagation, devices.
final class MountTests: XCTestCase {
    func testFilesystemsAndOptions() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.mounts!.append(.init(destination: "/data/scratch", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=700", "noexec"]))
        let r = try b.run(["sh", "-c", "grep -E ' /(proc|sys|dev|dev/pts|dev/shm|sys/fs/cgroup|data/scratch) ' /proc/self/mounts; stat -c '%a' /data/scratch"])
        XCTAssertEqual(r.code, 0, r.err)
        let m = lines(r.out)
        XCTAssertTrue(m.contains { $0.hasPrefix("proc /proc proc") }, r.out)
        XCTAssertTrue(m.contains { $0.contains(" /sys sysfs ro,") }, r.out)
        XCTAssertTrue(m.contains { $0.contains(" /sys/fs/cgroup cgroup2 ro,") }, r.out)
        XCTAssertTrue(m.contains { $0.contains(" /dev/pts devpts ") && $0.contains("ptmxmode=666") }, r.out)
        XCTAssertTrue(m.contains { $0.contains(" /data/scratch tmpfs ") && $0.contains("noexec") && $0.contains("size=1024k") }, r.out)
        XCTAssertEqual(m.last, "700")
    }

    func testBindMountReadOnlyAndReadWrite() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let ro = b.dir + "/ro", rw = b.dir + "/rw"
        for d in [ro, rw] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try "hello\n".write(toFile: ro + "/f", atomically: false, encoding: .utf8)
        b.spec.mounts! += [.init(destination: "/ro", type: "bind", source: ro, options: ["rbind", "ro"]),
                           .init(destination: "/rw", type: "bind", source: rw, options: ["bind", "rw"]),
                           .init(destination: "/etc/motd", type: "bind", source: ro + "/f", options: ["bind", "ro"])]
        let r = try b.run(["sh", "-c", "cat /ro/f; cat /etc/motd; echo x > /ro/g || echo ro-refused; echo data > /rw/out"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["hello", "hello", "ro-refused"])
        XCTAssertEqual(try String(contentsOfFile: rw + "/out", encoding: .utf8), "data\n")
    }

    /// runtime-spec 1.1 idmapped bind mounts, read as runc does ("containerID hostID size"
    /// as in a user namespace's map): files of uid 1000 on disk show as the host's 0, root
    /// in a container without a user namespace, and what root makes there is 1000's.
    func testIdmappedBindMount() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let d = b.dir + "/idmapped"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        try "x".write(toFile: d + "/f", atomically: false, encoding: .utf8)
        XCTAssertEqual(chown(d, 1000, 1000), 0)
        XCTAssertEqual(chown(d + "/f", 1000, 1000), 0)
        var m = Spec.Mount(destination: "/data", type: "bind", source: d, options: ["rbind", "idmap"])
        m.uidMappings = [.init(containerID: 1000, hostID: 0, size: 1)]
        m.gidMappings = [.init(containerID: 1000, hostID: 0, size: 1)]
        b.spec.mounts! += [m, .init(destination: "/plain", type: "bind", source: d, options: ["rbind"])]
        let r = try b.run(["sh", "-c", "stat -c %u:%g /data/f /plain/f; touch /data/new"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["0:0", "1000:1000"])
        var st = stat()
        XCTAssertEqual(lstat(d + "/new", &st), 0)
        XCTAssertEqual(st.st_uid, 1000, "written through the mapping")
        b.spec.mounts!.removeLast(2)
        m.gidMappings = nil
        b.spec.mounts!.append(m)
        let bad = try b.run(["true"])
        XCTAssertNotEqual(bad.code, 0)
        XCTAssertTrue(bad.err.contains("needs both uidMappings and gidMappings"), bad.err)
    }

    /// A container with its own user namespace (0 -> 100000): its init may not idmap a
    /// host filesystem, so the runtime makes the tree and hands it over. With the mount
    /// mapped as the container is, files show with their ids on disk (runc's
    /// "simple idmap mount [userns]"); a plain bind shows them unmapped.
    func testIdmappedBindMountInAUserNamespace() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.enterUserNamespace(.init(type: "user"), hostID: 100000)
        // Mount points made by the host's root: the container's (100000) may not create
        // them in a rootfs owned by the host's root.
        for p in ["/data", "/plain"] { try FileManager.default.createDirectory(atPath: b.dir + "/rootfs" + p, withIntermediateDirectories: true) }
        let d = b.dir + "/idmapped"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        try "x".write(toFile: d + "/f", atomically: false, encoding: .utf8)
        try "x".write(toFile: d + "/g", atomically: false, encoding: .utf8)
        XCTAssertEqual(chown(d + "/g", 1000, 1000), 0)
        var m = Spec.Mount(destination: "/data", type: "bind", source: d, options: ["rbind", "nosuid"])
        m.uidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
        m.gidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
        b.spec.mounts! += [m, .init(destination: "/plain", type: "bind", source: d, options: ["rbind"])]
        let r = try b.run(["sh", "-c", "stat -c %u:%g /data/f /data/g /plain/f; touch /data/new; grep -c ' /data .*nosuid' /proc/self/mounts"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["0:0", "1000:1000", "65534:65534", "1"])
        var st = stat()
        XCTAssertEqual(lstat(d + "/new", &st), 0)
        XCTAssertEqual(st.st_uid, 0, "root of the container writes as the disk's 0 through the mount")

        // A source that is not there: the runtime's step, syscall and path, and nothing left.
        b.spec.mounts!.removeLast(2)
        m.source = b.dir + "/missing"
        b.spec.mounts!.append(m)
        let bad = try b.run(["true"])
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.err.contains("mount bind /data (idmapped): open_tree \(b.dir)/missing: ENOENT"), bad.err)
    }

    func testMissingBindSourceNamesTheSyscallAndPath() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.mounts!.append(.init(destination: "/x", type: "bind", source: "/nonexistent/swiftrun", options: ["bind"]))
        let r = try b.run(["true"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("open_tree /nonexistent/swiftrun: ENOENT"), r.err)
    }

    func testDevices() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.linux!.devices = [.init(type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0)]
        let r = try b.run(["sh", "-c", "stat -c '%n %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/fuse; for l in /dev/fd /dev/stdin /dev/ptmx; do readlink $l; done; head -c 4 /dev/zero | wc -c"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["/dev/null 1:3 666", "/dev/zero 1:5 666", "/dev/full 1:7 666", "/dev/random 1:8 666",
                                      "/dev/urandom 1:9 666", "/dev/tty 5:0 666", "/dev/fuse a:e5 600",
                                      "/proc/self/fd", "/proc/self/fd/0", "pts/ptmx", "4"])
    }

    func testSysctlAndMissingCwdIsCreated() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.linux!.sysctl = ["net.ipv4.ip_forward": "1", "kernel.msgmax": "4096"]
        b.spec.process!.cwd = "/tmp/new/dir"
        let r = try b.run(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax; pwd"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["1", "4096", "/tmp/new/dir"])
    }
}
