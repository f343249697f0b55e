import Foundation
import XCTest

/// swiftrun-runc as containerd's and podman's runtime, as Kubernetes (RuntimeClass) and
/// podman users run it: containerd from Debian's package with its own root, state and
/// socket, driven by `ctr --runc-binary`; podman with `--runtime`. Every case runs with
/// swiftrun-runc and with runc, so a failure tells whose it is. They need a pure cgroup v2
/// kernel: `make test` runs them in its VM (Sysroot/vm); on a hybrid host they are skipped.
class PeerRuntimeTestCase: XCTestCase {
    var dir = ""
    var runtimes: [(name: String, path: String)] {
        [("swiftrun-runc", TestBundle.binDir + "/swiftrun-runc"), ("runc", "/usr/sbin/runc")]
    }

    func requireV2AndTools(_ tools: [String]) throws {
        guard getuid() == 0 else { throw XCTSkip("needs root") }
        guard cgroupV2Controllers().isSuperset(of: ["memory", "cpu", "pids"]) else {
            throw XCTSkip("needs a pure cgroup v2 kernel (this host has hybrid cgroups): `make vmtest` runs it in a VM")
        }
        for t in tools where !FileManager.default.fileExists(atPath: t) {
            XCTFail("\(t) is missing: make deps installs it")
            throw XCTSkip("\(t) missing")
        }
        dir = "/tmp/swiftrun-peer-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func run(_ path: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestBundle.Result {
        try TestBundle.exec(path, args)
    }
}

final class ContainerdTests: PeerRuntimeTestCase {
    var daemon: Process?
    var sock: String { dir + "/c.sock" }
    let image = "swiftrun.test/busybox-httpd:v1"

    override func setUpWithError() throws {
        try requireV2AndTools(["/usr/bin/containerd", "/usr/bin/ctr", "/usr/sbin/runc"])
        try """
        version = 2
        root = "\(dir)/root"
        state = "\(dir)/state"
        disabled_plugins = ["io.containerd.grpc.v1.cri"]
        [grpc]
          address = "\(sock)"
        """.write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/containerd")
        p.arguments = ["--config", dir + "/config.toml"]
        FileManager.default.createFile(atPath: dir + "/log", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/log"))
        p.standardError = p.standardOutput
        try p.run()
        daemon = p
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: sock) { usleep(100_000) }
        let imp = try ctr(["image", "import", TestBundle.packageRoot + "/Sysroot/out/busybox-oci.tar"])
        XCTAssertEqual(imp.code, 0, imp.err)
    }

    override func tearDownWithError() throws {
        if let p = daemon {
            for id in (try? ctr(["task", "ls", "-q"]).out.split(separator: "\n").map(String.init)) ?? [] {
                _ = try? ctr(["task", "kill", "-s", "SIGKILL", id])
                _ = try? ctr(["task", "delete", "-f", id])
            }
            for id in (try? ctr(["container", "ls", "-q"]).out.split(separator: "\n").map(String.init)) ?? [] {
                _ = try? ctr(["container", "rm", id])
            }
            p.terminate()
            p.waitUntilExit()
        }
        if !dir.isEmpty {
            _ = try? TestBundle.exec("/bin/sh", ["-c", "umount -R \(dir)/root 2>/dev/null; umount -R \(dir)/state 2>/dev/null; true"])
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    func ctr(_ args: [String]) throws -> TestBundle.Result {
        try TestBundle.exec("/usr/bin/ctr", ["--address", sock] + args)
    }

    func testRunWithAnExitCode() throws {
        for (name, bin) in runtimes {
            let r = try ctr(["run", "--rm", "--runc-binary", bin, image, "exit-\(name)", "sh", "-c", "echo hello from \(name); exit 3"])
            XCTAssertEqual(r.code, 3, "\(name): \(r.err)")
            XCTAssertEqual(r.out, "hello from \(name)\n", name)
        }
    }

    func testDetachedTaskExecPsPauseMetricsKillDelete() throws {
        for (name, bin) in runtimes {
            let id = "d-" + name
            let r = try ctr(["run", "-d", "--runc-binary", bin, image, id, "sleep", "300"])
            XCTAssertEqual(r.code, 0, "\(name): \(r.err)")
            let ex = try ctr(["task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo in-exec; exit 5"])
            XCTAssertEqual(ex.code, 5, "\(name): \(ex.err)")
            XCTAssertEqual(ex.out, "in-exec\n", name)
            let ps = try ctr(["task", "ps", id])
            XCTAssertEqual(ps.code, 0, "\(name): \(ps.err)")
            XCTAssertEqual(ps.out.split(separator: "\n").count, 2, "the header and sleep: \(name): \(ps.out)")
            XCTAssertEqual(try ctr(["task", "pause", id]).code, 0, name)
            XCTAssertTrue(try ctr(["task", "ls"]).out.contains("PAUSED"), name)
            XCTAssertEqual(try ctr(["task", "resume", id]).code, 0, name)
            XCTAssertTrue(try ctr(["task", "ls"]).out.contains("RUNNING"), name)
            let m = try ctr(["task", "metrics", id])
            XCTAssertEqual(m.code, 0, "\(name): \(m.err)")
            XCTAssertTrue(m.out.contains("memory.usage_in_bytes") || m.out.contains("memory.current") || m.out.lowercased().contains("memory"), "cgroup v2 stats: \(name): \(m.out)")
            let k = try ctr(["task", "kill", "-s", "SIGKILL", id])
            XCTAssertEqual(k.code, 0, "\(name): \(k.err)")
            var deleted = false
            for _ in 0..<50 {
                if try ctr(["task", "delete", id]).code == 0 { deleted = true; break }
                usleep(100_000)
            }
            XCTAssertTrue(deleted, name)
            XCTAssertEqual(try ctr(["container", "rm", id]).code, 0, name)
        }
    }

    /// A pod: a sandbox container, and a second one in its network namespace by path.
    func testASecondContainerJoinsTheSandboxNetns() throws {
        for (name, bin) in runtimes {
            let sandbox = "sb-" + name
            XCTAssertEqual(try ctr(["run", "-d", "--runc-binary", bin, image, sandbox, "httpd", "-f", "-p", "127.0.0.1:8181", "-h", "/www"]).code, 0, name)
            let pid = try ctr(["task", "ls"]).out.split(separator: "\n").first { $0.hasPrefix(sandbox + " ") }?
                .split(separator: " ", omittingEmptySubsequences: true)[1] ?? ""
            XCTAssertFalse(pid.isEmpty, name)
            let r = try ctr(["run", "--rm", "--runc-binary", bin, "--with-ns", "network:/proc/\(pid)/ns/net", image, "app-" + name,
                             "wget", "-q", "-O-", "http://127.0.0.1:8181/"])
            XCTAssertEqual(r.code, 0, "\(name): \(r.err)")
            XCTAssertTrue(r.out.contains("hello"), "\(name): the sandbox's loopback: \(r.out)")
            _ = try ctr(["task", "kill", "-s", "SIGKILL", sandbox])
            for _ in 0..<50 where try ctr(["task", "delete", sandbox]).code != 0 { usleep(100_000) }
            _ = try ctr(["container", "rm", sandbox])
        }
    }

    func testATerminalAndAFailingCommand() throws {
        for (name, bin) in runtimes {
            let t = try TestBundle.exec("/usr/bin/script", ["-qec", "/usr/bin/ctr --address \(sock) run --rm -t --runc-binary \(bin) \(image) tty-\(name) sh -c 'tty; exit 0'", "/dev/null"])
            XCTAssertEqual(t.code, 0, "\(name): \(t.err)")
            XCTAssertTrue(t.out.contains("/dev/pts/"), "\(name): \(t.out)")
            let f = try ctr(["run", "--rm", "--runc-binary", bin, image, "fail-" + name, "/no/such/program"])
            XCTAssertNotEqual(f.code, 0, name)
            XCTAssertTrue(f.err.contains("no/such/program"), "the runtime's error reaches the user through the shim: \(name): \(f.err)")
            _ = try? ctr(["container", "rm", "fail-" + name])
        }
    }
}

final class PodmanTests: PeerRuntimeTestCase {
    func podman(_ bin: String, _ args: [String]) throws -> TestBundle.Result {
        // Bounded: a podman that hangs fails the case instead of the whole VM run. Spawned and
        // reaped by pid: Foundation's Process never saw `podman run -d` end in the VM (conmon,
        // which it daemonizes, outlives it).
        try Self.spawnWait(["/usr/bin/timeout", "120", "/usr/bin/podman", "--root", dir + "/root", "--runroot", dir + "/run", "--cgroup-manager", "cgroupfs",
                                                "--events-backend", "file", "--storage-driver", "overlay", "--runtime", bin] + args)
    }

    override func setUpWithError() throws {
        try requireV2AndTools(["/usr/bin/podman", "/usr/sbin/runc"])
    }

    /// posix_spawn and waitpid, output into files.
    static func spawnWait(_ argv: [String]) throws -> TestBundle.Result {
        let tag = UUID().uuidString
        let outPath = "/tmp/swiftrun-out-" + tag, errPath = "/tmp/swiftrun-err-" + tag
        defer { unlink(outPath); unlink(errPath) }
        var fa: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&fa, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &fa, nil, cargs, environ) == 0 else { throw XCTSkip("spawn \(argv[0]) failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return TestBundle.Result(code: code, out: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                                 err: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    override func tearDownWithError() throws {
        guard !dir.isEmpty else { return }
        _ = try? podman("/usr/sbin/runc", ["rm", "-af", "-t", "0"])
        _ = try? TestBundle.exec("/bin/sh", ["-c", "umount -R \(dir)/root/overlay 2>/dev/null; true"])
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testRunExecHealthPauseStop() throws {
        // The OCI archive: containers/image refuses the docker archive's gzipped layer
        // ("blob size mismatch"), which Docker and swiftrun load.
        let load = try podman("/usr/sbin/runc", ["load", "-i", TestBundle.packageRoot + "/Sysroot/out/busybox-oci.tar"])
        XCTAssertEqual(load.code, 0, load.err)
        for (name, bin) in runtimes {
            let r = try podman(bin, ["run", "--rm", "--network", "none", "--entrypoint", "sh", "swiftrun.test/busybox-httpd:v1", "-c", "echo via \(name); exit 4"])
            XCTAssertEqual(r.code, 4, "\(name): \(r.err)")
            XCTAssertEqual(r.out, "via \(name)\n", name)
            let c = "w-" + name
            let d = try podman(bin, ["run", "-d", "--name", c, "--network", "none", "--health-cmd", "wget -q -O /dev/null http://127.0.0.1:8080/", "swiftrun.test/busybox-httpd:v1"])
            XCTAssertEqual(d.code, 0, "\(name): \(d.err)")
            let ex = try podman(bin, ["exec", c, "sh", "-c", "echo in-exec"])
            XCTAssertEqual(ex.out, "in-exec\n", "\(name): \(ex.err)")
            var healthy = false
            for _ in 0..<50 {
                if try podman(bin, ["healthcheck", "run", c]).code == 0 { healthy = true; break }
                usleep(200_000)
            }
            XCTAssertTrue(healthy, name)
            XCTAssertEqual(try podman(bin, ["pause", c]).code, 0, name)
            XCTAssertTrue(try podman(bin, ["inspect", "-f", "{{.State.Status}}", c]).out.contains("paused"), name)
            XCTAssertEqual(try podman(bin, ["unpause", c]).code, 0, name)
            XCTAssertEqual(try podman(bin, ["stop", "-t", "1", c]).code, 0, name)
            XCTAssertEqual(try podman(bin, ["rm", c]).code, 0, name)
        }
    }
}
