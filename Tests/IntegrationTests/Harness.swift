import Foundation
import XCTest
import OCI
typealias OCIHook = Spec.Hook
typealias OCIHooks = Spec.Hooks

/// Runs the real swiftrun-runc binary on a bundle made from the Sysroot busybox rootfs.
/// Each bundle has its own state root, so tests run side by side and clean up alone.
final class TestBundle {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static var binDir: String { ProcessInfo.processInfo.environment["SWIFTRUN_BIN_DIR"] ?? packageRoot + "/.build/debug" }
    static var rootfsSource: String {
        ProcessInfo.processInfo.environment["SWIFTRUN_TEST_ROOTFS"] ?? packageRoot + "/Sysroot/out/rootfs-busybox"
    }

    let dir: String
    /// Unique per bundle: the default cgroup is /swiftrun/<id>, shared by all state roots.
    let id: String
    var stateRoot: String { dir + "/state" }
    var spec: Spec
    private var ids: [String] = []

    /// Fails (does not skip) when the machine is not set up: `make test` sets it up.
    init(args: [String] = ["true"], file: StaticString = #filePath, line: UInt = #line) throws {
        guard getuid() == 0 else { throw XCTSkip("integration tests need root") }
        guard FileManager.default.fileExists(atPath: Self.rootfsSource + "/bin/busybox"),
              FileManager.default.isExecutableFile(atPath: Self.binDir + "/swiftrun-runc"),
              FileManager.default.isExecutableFile(atPath: Self.binDir + "/swiftrun-init") else {
            XCTFail("run `make test`: rootfs or binaries missing (\(Self.rootfsSource), \(Self.binDir))", file: file, line: line)
            throw XCTSkip("not set up")
        }
        let tag = UUID().uuidString.prefix(8).lowercased()
        dir = "/tmp/swiftrun-test-" + tag
        id = "t" + tag
        // Each bundle gets its own overlayfs rootfs: mount points the runtime creates, and
        // anything a test writes, land in its upper dir, never in the shared Sysroot tree.
        for d in ["rootfs", "upper", "work"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true)
        }
        let m = try Self.exec("/bin/mount", ["-t", "overlay", "overlay", "-o",
                                            "lowerdir=\(Self.rootfsSource),upperdir=\(dir)/upper,workdir=\(dir)/work", dir + "/rootfs"])
        guard m.code == 0 else {
            XCTFail("overlayfs mount of the test rootfs failed: \(m.err)", file: file, line: line)
            throw XCTSkip("no rootfs")
        }
        spec = Self.defaultSpec(args: args)
    }

    /// runc's default spec with no terminal: read-only rootfs, 3 caps, NNP, masked paths.
    static func defaultSpec(args: [String]) -> Spec {
        let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        var p = Spec.Process(terminal: false, args: args,
                             env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], cwd: "/",
                             capabilities: .init(bounding: caps, effective: caps, permitted: caps),
                             rlimits: [.init(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)], noNewPrivileges: true)
        p.user = .init(uid: 0, gid: 0)
        var linux = Spec.Linux()
        linux.namespaces = ["pid", "network", "ipc", "uts", "mount", "cgroup"].map { Spec.Namespace(type: $0) }
        linux.maskedPaths = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/acpi"]
        linux.readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        let mounts: [Spec.Mount] = [
            .init(destination: "/proc", type: "proc", source: "proc"),
            .init(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            .init(destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            .init(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            .init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
            .init(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
            .init(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]),
        ]
        return Spec(process: p, root: .init(path: "rootfs", readonly: true), hostname: "testbox", mounts: mounts, linux: linux)
    }

    func writeSpec() throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted]
        try enc.encode(spec).write(to: URL(fileURLWithPath: dir + "/config.json"))
    }

    struct Result {
        var code: Int32
        var out: String
        var err: String
    }

    /// Runs swiftrun-runc with this bundle's state root.
    @discardableResult
    func runc(_ args: [String], extraFds: [FileHandle] = []) throws -> Result {
        try Self.exec(Self.binDir + "/swiftrun-runc", ["--root", stateRoot] + args)
    }

    /// Output goes to files, not pipes: a created container inherits the caller's stdio
    /// and keeps it open, so reading a pipe to EOF would wait for the container.
    static func exec(_ path: String, _ args: [String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let tag = UUID().uuidString
        let outPath = "/tmp/swiftrun-out-" + tag, errPath = "/tmp/swiftrun-err-" + tag
        touch(outPath)
        touch(errPath)
        defer { try? FileManager.default.removeItem(atPath: outPath); try? FileManager.default.removeItem(atPath: errPath) }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try out.close()
        try err.close()
        return Result(code: p.terminationStatus, out: try String(contentsOfFile: outPath, encoding: .utf8),
                      err: try String(contentsOfFile: errPath, encoding: .utf8))
    }

    /// Starts `path args` (stdin from `input`, else /dev/null; output discarded), SIGKILLs it
    /// after `ms` milliseconds and reaps it: a command killed at some point of its work.
    static func killAfter(_ ms: Int, _ path: String, _ args: [String], input: String? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardInput = try input.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0)) } ?? FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(useconds_t(ms * 1000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// `run` in the foreground: the container's output and exit code.
    func run(_ args: [String]? = nil, id given: String? = nil) throws -> Result {
        let id = given ?? self.id
        if let args { spec.process!.args = args }
        try writeSpec()
        ids.append(id)
        return try runc(["run", "--bundle", dir, id])
    }

    func create(id given: String? = nil, extra: [String] = []) throws -> Result {
        let id = given ?? self.id
        try writeSpec()
        ids.append(id)
        return try runc(["create", "--bundle", dir] + extra + [id])
    }

    func state(_ given: String? = nil) throws -> State? {
        let id = given ?? self.id
        let r = try runc(["state", id])
        guard r.code == 0 else { return nil }
        return try JSONDecoder().decode(State.self, from: Data(r.out.utf8))
    }

    /// Puts the bundle in a user namespace (new with a map of 65536 ids from hostID, or
    /// joined): no masked or sysfs mounts, which a user namespace without its own netns
    /// cannot have.
    func enterUserNamespace(_ ns: Spec.Namespace, hostID: UInt32?) {
        spec.linux!.namespaces!.append(ns)
        if let h = hostID {
            spec.linux!.uidMappings = [.init(containerID: 0, hostID: h, size: 65536)]
            spec.linux!.gidMappings = [.init(containerID: 0, hostID: h, size: 65536)]
        }
        spec.linux!.maskedPaths = []
        spec.linux!.readonlyPaths = []
        spec.mounts!.removeAll { $0.destination.hasPrefix("/sys") }
    }

    static let cgroupRoot = "/sys/fs/cgroup/unified"

    /// Deletes what the test made and checks nothing of it is left.
    func cleanup(file: StaticString = #filePath, line: UInt = #line) {
        for id in Set(ids) { _ = try? runc(["delete", "--force", id]) }
        // Containers' state goes; the runtime's own filter cache may stay (removed with dir).
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: stateRoot)) ?? []).filter { $0 != ".seccomp-cache" }
        XCTAssertEqual(left, [], "state left behind", file: file, line: line)
        for id in Set(ids) {
            XCTAssertFalse(FileManager.default.fileExists(atPath: Self.cgroupRoot + "/swiftrun/" + id),
                           "cgroup left behind for \(id)", file: file, line: line)
        }
        // The shared /swiftrun parent is not ours to judge: another root's containers may be
        // under it.
        _ = try? Self.exec("/bin/umount", [dir + "/rootfs"])
        try? FileManager.default.removeItem(atPath: dir)
    }
}

func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }

/// The value of a "Key:\tvalue" line of /proc/PID/status.
func statusField(_ status: String, _ key: String) -> String? {
    lines(status).first { $0.hasPrefix(key + ":") }.map { String($0.dropFirst(key.count + 1)).trimmingCharacters(in: .whitespaces) }
}

/// An empty file, made with open(2): FileManager.createFile writes atomically, and on Linux
/// that leaves a TemporaryDirectory.* beside the file (in /tmp) now and then.
func touch(_ path: String) {
    close(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600))
}
