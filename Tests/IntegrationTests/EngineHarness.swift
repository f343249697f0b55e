import Foundation
import XCTest

/// A store root of its own per test, with the test image loaded; `tearDown` removes every
/// container and checks nothing is left: state, mounts, cgroups, processes.
class EngineTestCase: XCTestCase {
    var root = ""
    let image = "swiftrun.test/busybox-httpd:v1"

    static let rootPrefix = "/tmp/swiftrun-test-engine-"

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("containers need root") }
        _ = Self.sweptOnce
        root = Self.rootPrefix + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Self.ownerMark.write(toFile: root + "/test-owner", atomically: true, encoding: .utf8)
        let r = try swiftrun(["load", "-i", TestBundle.packageRoot + "/Sysroot/out/busybox-docker.tar"])
        XCTAssertEqual(r.code, 0, r.err)
    }

    /// This test process, as /proc tells it apart from a later one with the same pid.
    static var ownerMark: String {
        let stat = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
        let start = stat.split(separator: ")").last?.split(separator: " ").dropFirst(19).first ?? "0"
        return "\(getpid()) \(start)"
    }

    /// Once per test process: the roots of test processes that died without their teardown
    /// (a crash, a kill -9 of `swift test`) are taken down with swiftrun itself (its records
    /// name every container, supervisor and network they made), then removed, with the
    /// files beside them. Only roots marked by a test process that is gone: never another
    /// run's that is still going.
    static let sweptOnce: Void = {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: "/tmp")) ?? [] where name.hasPrefix("swiftrun-test-engine-") && name.count == 29 {
            let dir = "/tmp/" + name
            guard let mark = try? String(contentsOfFile: dir + "/test-owner", encoding: .utf8) else { continue }
            let f = mark.split(separator: " ")
            if f.count == 2, let pid = Int32(f[0]) {
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                if stat.split(separator: ")").last?.split(separator: " ").dropFirst(19).first == f[1] { continue } // alive
            }
            let bin = TestBundle.binDir + "/swiftrun"
            for id in (try? fm.contentsOfDirectory(atPath: dir + "/containers")) ?? [] {
                _ = try? TestBundle.exec(bin, ["rm", "-f", "-v", "--root", dir, id])
            }
            for net in (try? fm.contentsOfDirectory(atPath: dir + "/networks")) ?? [] where net.hasSuffix(".json") {
                _ = try? TestBundle.exec(bin, ["network", "rm", "--root", dir, String(net.dropLast(5))])
            }
            for other in (try? fm.contentsOfDirectory(atPath: "/tmp")) ?? [] where other.hasPrefix(name) {
                try? fm.removeItem(atPath: "/tmp/" + other)
            }
        }
    }()

    override func tearDownWithError() throws {
        guard !root.isEmpty else { return }
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: root + "/containers")) ?? []
        var supervisors: [Int32] = []
        for id in ids {
            if let s = try? state(id), let p = s["SupervisorPid"] as? Int, p > 0 { supervisors.append(Int32(p)) }
            _ = try? swiftrun(["rm", "-f", id])
        }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: root + "/containers")) ?? []
        XCTAssertEqual(left, [], "containers left behind")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/names")) ?? []
        XCTAssertEqual(names, [], "names left behind")
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        XCTAssertFalse(mounts.contains(root), "a mount left behind")
        for id in ids {
            XCTAssertFalse(FileManager.default.fileExists(atPath: TestBundle.cgroupRoot + "/swiftrun/" + id), "cgroup left for \(id)")
        }
        // A supervisor may still be taking down an unused bridge after it reported the exit.
        for p in supervisors {
            var alive = true
            for _ in 0..<100 {
                let stat = (try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8)) ?? ""
                alive = kill(p, 0) == 0 && stat.contains("swiftrun") && !stat.contains(") Z")
                if !alive { break }
                usleep(20_000)
            }
            if alive { XCTFail("supervisor \(p) still running") }
        }
        // Networking: no veth or lease (which lists the published ports) of this root's containers.
        let links = (try? TestBundle.exec("/usr/sbin/ip", ["-o", "link"]).out) ?? ""
        for id in ids {
            XCTAssertFalse(links.contains("sr" + id.prefix(10)), "veth left for \(id)")
        }
        let netDir = "/run/swiftrun/net"
        for b in (try? FileManager.default.contentsOfDirectory(atPath: netDir)) ?? [] {
            for l in (try? FileManager.default.contentsOfDirectory(atPath: "\(netDir)/\(b)/leases")) ?? [] {
                let text = (try? String(contentsOfFile: "\(netDir)/\(b)/leases/\(l)", encoding: .utf8)) ?? ""
                XCTAssertFalse(text.contains(root), "lease \(b)/\(l) left: \(text)")
            }
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A TCP port nobody on the host has bound, from the kernel.
    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: sa.sin_port))
    }

    /// Images `make images` made in Sysroot/out, loaded into this test's store, and its PyPI
    /// wheels copied into `dir` (a build context): what the Python tutorial tests share. A
    /// missing one fails the test, with the command that makes it.
    func loadSysrootImages(_ tars: [String], wheelsInto dir: String) throws {
        let out = TestBundle.packageRoot + "/Sysroot/out"
        for f in tars + ["wheels"] where !FileManager.default.fileExists(atPath: out + "/" + f) {
            XCTFail("Sysroot/out/\(f) is missing: `make images` makes it")
            throw XCTSkip("missing \(f)")
        }
        for f in tars {
            let r = try swiftrun(["load", "-i", out + "/" + f])
            XCTAssertEqual(r.code, 0, r.err)
        }
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: out + "/wheels", toPath: dir + "/wheels")
    }

    /// Python's http.server on 127.0.0.1 serving `dir` (stopped by pid at teardown); its base URL.
    func serveFiles(_ dir: String) throws -> String {
        let port = freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, String(port)]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        addTeardownBlock { p.terminate(); p.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        waitUntil(10, "the file server to listen") { (try? TestBundle.exec("/usr/bin/curl", ["-sf", "-o", "/dev/null", base + "/"]).code) == 0 }
        return base
    }

    /// Debian's docker-registry (the Distribution project's) on 127.0.0.1 with its storage
    /// under `dir`, stopped (by pid) at teardown; its host:port.
    /// `users` (name: password): htpasswd (bcrypt) authentication, as a private registry.
    func startDistributionRegistry(_ dir: String, users: [String: String] = [:]) throws -> String {
        guard FileManager.default.fileExists(atPath: "/usr/bin/docker-registry") else {
            XCTFail("/usr/bin/docker-registry is missing: make deps installs it")
            return ""
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        version: 0.1
        log: {level: info}
        storage: {filesystem: {rootdirectory: \(dir)/data}}
        http: {addr: "127.0.0.1:0"}
        """.write(toFile: dir + "/config.yml", atomically: false, encoding: .utf8)
        if !users.isEmpty {
            let py = "import crypt, sys\nfor u, p in zip(sys.argv[1::2], sys.argv[2::2]): print(u + ':' + crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH)))"
            let h = try TestBundle.exec("/usr/bin/python3", ["-W", "ignore", "-c", py] + users.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] })
            try h.out.write(toFile: dir + "/htpasswd", atomically: false, encoding: .utf8)
            let auth = "auth:\n  htpasswd: {realm: swiftrun-test, path: \(dir)/htpasswd}\n"
            try (try String(contentsOfFile: dir + "/config.yml", encoding: .utf8) + "\n" + auth).write(toFile: dir + "/config.yml", atomically: false, encoding: .utf8)
        }
        let log = dir + "/log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        p.arguments = ["serve", dir + "/config.yml"]
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardError = p.standardOutput
        try p.run()
        addTeardownBlock {
            p.terminate()
            p.waitUntilExit()
            try? FileManager.default.removeItem(atPath: dir)
        }
        var addr = ""
        waitUntil(10, "the registry to listen") {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard let r = text.range(of: #"listening on 127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else { return false }
            addr = String(text[r].dropFirst("listening on ".count))
            return true
        }
        return addr
    }

    @discardableResult
    func swiftrun(_ args: [String]) throws -> TestBundle.Result {
        try TestBundle.exec(TestBundle.binDir + "/swiftrun", withRoot(args))
    }

    /// `args` with `--root`: group commands (`network create`) take it after their subcommand.
    func withRoot(_ args: [String]) -> [String] {
        let n = ["network", "volume", "container", "image", "system", "builder"].contains(args.first ?? "") && args.count > 1 ? 2 : 1
        return Array(args.prefix(n)) + ["--root", root] + args.dropFirst(n)
    }

    /// `run -d ...`: the new container's ID.
    func runDetached(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try swiftrun(["run", "-d"] + args)
        XCTAssertEqual(r.code, 0, r.err, file: file, line: line)
        let id = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(id.count, 64, "an ID of 64 hex: \(r.out) \(r.err)", file: file, line: line)
        return id
    }

    func inspect(_ ref: String) throws -> [String: Any] {
        let r = try swiftrun(["inspect", ref])
        guard r.code == 0, let arr = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]], let first = arr.first else {
            XCTFail("inspect \(ref): \(r.err)")
            return [:]
        }
        return first
    }

    func state(_ id: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/containers/\(id)/state.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func health(_ ref: String) throws -> [String: Any]? {
        (try inspect(ref)["State"] as? [String: Any])?["Health"] as? [String: Any]
    }

    /// Polls until `cond` holds; fails after `seconds`.
    @discardableResult
    func waitUntil(_ seconds: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                   _ cond: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try cond() { return true }
            usleep(20_000)
        }
        XCTFail("timed out after \(seconds)s waiting for \(what)", file: file, line: line)
        return false
    }

    /// The supervisor's pid (`ref`: an ID or a name).
    func supervisor(_ ref: String) throws -> Int32 {
        let id = ref.count == 64 ? ref : try swiftrun(["inspect", "-f", "{{.Id}}", ref]).out.trimmingCharacters(in: .newlines)
        return Int32(try state(id)["SupervisorPid"] as! Int)
    }

    func comm(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }

    /// smaps_rollup's field, in kB (-1 if gone).
    func smapsKB(_ pid: Int32, _ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }

    /// Until the supervisor has handed over to swiftrun-idle (IdleTests).
    func waitIdle(_ id: String, _ seconds: Double = 15, file: StaticString = #filePath, line: UInt = #line) throws {
        let sup = try supervisor(id)
        waitUntil(seconds, "the supervisor to hand over to swiftrun-idle", file: file, line: line) { comm(sup) == "swiftrun-idle" }
    }

    /// The events the store recorded for a container, as (action, timeNano).
    func events(_ id: String) throws -> [(String, Int64)] {
        let text = (try? String(contentsOfFile: root + "/events.log", encoding: .utf8)) ?? ""
        return lines(text).compactMap { l in
            guard let o = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], o["id"] as? String == id,
                  let a = o["Action"] as? String, let t = o["timeNano"] as? Int64 else { return nil }
            return (a, t)
        }
    }
}

/// RFC 3339 nano → ns since the epoch.
func rfcNanos(_ s: String) -> Int64 {
    let parts = s.dropLast().split(separator: ".")
    let f = ISO8601DateFormatter()
    let secs = Int64(f.date(from: String(parts[0]) + "Z")?.timeIntervalSince1970 ?? 0)
    let frac = parts.count > 1 ? Int64(String(parts[1]).padding(toLength: 9, withPad: "0", startingAt: 0)) ?? 0 : 0
    return secs * 1_000_000_000 + frac
}
