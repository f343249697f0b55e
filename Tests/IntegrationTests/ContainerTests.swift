import Foundation
import XCTest

/// The engine's everyday commands: run -d, ps, logs, stop, kill, rm, inspect, wait, exec,
/// restart policies, names, and what a killed supervisor leaves.
final class ContainerTests: EngineTestCase {
    func testDetachedLifecycle() throws {
        let id = try runDetached(["--name", "bot", "--entrypoint", "sh", image, "-c",
                                  "echo started; echo oops >&2; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"])
        let ps = try swiftrun(["ps"])
        XCTAssertEqual(ps.code, 0, ps.err)
        XCTAssertEqual(lines(ps.out).first?.split(separator: " ", omittingEmptySubsequences: true).map(String.init),
                       ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"])
        XCTAssertTrue(ps.out.contains(String(id.prefix(12))) && ps.out.contains(" Up ") && ps.out.contains("bot"), ps.out)
        XCTAssertTrue(ps.out.contains("\"sh -c 'echo started…\""), ps.out)
        try waitUntil(5, "log lines") { try swiftrun(["logs", "bot"]).out.contains("started") }
        let logs = try swiftrun(["logs", "bot"])
        XCTAssertEqual(logs.out, "started\n")
        XCTAssertEqual(logs.err, "oops\n", "stderr stays on stderr")
        let raw = try String(contentsOfFile: root + "/containers/\(id)/\(id)-json.log", encoding: .utf8)
        XCTAssertTrue(raw.hasPrefix("{\"log\":\"started\\n\",\"stream\":\"stdout\",\"time\":\""), raw)

        // Any unique prefix selects it; the name is taken.
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.Name}} {{.State.Status}} {{.State.Running}}", String(id.prefix(6))]).out, "/bot running true\n")
        let dup = try swiftrun(["run", "-d", "--name", "bot", image])
        XCTAssertEqual(dup.code, 125)
        XCTAssertTrue(dup.err.contains("The container name \"/bot\" is already in use by container \"\(id)\""), dup.err)
        let busy = try swiftrun(["rm", "bot"])
        XCTAssertNotEqual(busy.code, 0)
        XCTAssertTrue(busy.err.contains("cannot remove container \"/bot\": container is running: stop the container before removing or force remove"), busy.err)

        XCTAssertEqual(try swiftrun(["stop", "bot"]).code, 0)
        let s = try inspect("bot")["State"] as! [String: Any]
        XCTAssertEqual(s["Status"] as? String, "exited")
        XCTAssertEqual(s["ExitCode"] as? Int, 0, "the TERM trap ran")
        XCTAssertTrue(try swiftrun(["logs", "bot"]).out.hasSuffix("bye\n"))
        XCTAssertEqual(try swiftrun(["ps", "-q"]).out, "")
        XCTAssertTrue(try swiftrun(["ps", "-a"]).out.contains("Exited (0) "))
        XCTAssertEqual(try swiftrun(["wait", "bot"]).out, "0\n")

        // start again: same container, same log.
        XCTAssertEqual(try swiftrun(["start", "bot"]).code, 0)
        try waitUntil(5, "second start in the log") { try swiftrun(["logs", "bot"]).out.components(separatedBy: "started").count == 3 }
        XCTAssertEqual(try swiftrun(["rm", "-f", "bot"]).code, 0)
        XCTAssertEqual(try swiftrun(["ps", "-aq"]).out, "")
        XCTAssertEqual(try swiftrun(["run", "-d", "--name", "bot", "--entrypoint", "true", image]).code, 0, "the name is free again")
    }

    func testStopEscalatesToKill() throws {
        // httpd as PID 1 has no SIGTERM handler: the kernel drops the signal (FACTS.md).
        _ = try runDetached(["--name", "web", "--stop-timeout", "1", image])
        let start = Date()
        XCTAssertEqual(try swiftrun(["stop", "web"]).code, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.State.ExitCode}}", "web"]).out, "137\n")
    }

    func testForegroundRun() throws {
        let r = try swiftrun(["run", "--rm", "--entrypoint", "sh", image, "-c", "echo out; echo err >&2; exit 3"])
        XCTAssertEqual(r.code, 3)
        XCTAssertEqual(r.out, "out\n")
        XCTAssertEqual(r.err, "err\n")
        let kept = try swiftrun(["run", "--name", "kept", "--entrypoint", "sh", image, "-c", "echo hi"])
        XCTAssertEqual(kept.code, 0)
        XCTAssertEqual(try swiftrun(["logs", "kept"]).out, "hi\n", "a foreground run is logged too")
        XCTAssertTrue(try swiftrun(["ps", "-a", "--format", "{{.Names}}\t{{.Status}}"]).out.hasPrefix("kept\tExited (0) "))
        let ec = try swiftrun(["run", "--rm", "--entrypoint", "no-such-tool", image])
        XCTAssertEqual(ec.code, 127)
        XCTAssertTrue(ec.err.contains("executable file not found"), ec.err)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "/etc/passwd", image]).code, 126)
        let stdin = try swiftrun(["run", "--rm", "-i", "--entrypoint", "cat", image])
        XCTAssertEqual(stdin.code, 0, "stdin is /dev/null in tests: cat sees EOF")
    }

    /// On the default bridge the supervisor waits for the kernel to delete the veth after the
    /// exit; the container is done with all the same, and `rm` and `start` say so at once.
    func testRmAndStartRightAfterAForegroundRun() throws {
        for _ in 0..<5 {
            let r = try swiftrun(["run", "--name", "rr", "--no-healthcheck", "--entrypoint", "true", image])
            XCTAssertEqual(r.code, 0, r.err)
            let rm = try swiftrun(["rm", "rr"])
            XCTAssertEqual(rm.code, 0, rm.err)
        }
        XCTAssertEqual(try swiftrun(["run", "--name", "again", "--no-healthcheck", "--entrypoint", "echo", image, "hi"]).out, "hi\n")
        let again = try swiftrun(["start", "-a", "again"])
        XCTAssertEqual(again.out, "hi\n", again.err)
    }

    /// A value that starts with a dash is a value, as in Docker's flag parser, and is judged
    /// with Docker's words.
    func testNegativeValuesSayWhatDockerSays() throws {
        for (flags, message) in [(["-m", "-5"], "invalid argument \"-5\" for \"--memory\" flag: invalid size: '-5'"),
                                 (["--cpus", "-1"], "Range of CPUs is from 0.01 to"),
                                 (["--health-interval", "-1s"], "--health-interval cannot be negative"),
                                 (["--health-retries", "-2"], "--health-retries cannot be negative"),
                                 (["--name", "-x"], "invalid container name \"-x\"")] {
            let r = try swiftrun(["run", "--rm", "--network", "none", "--pull", "never"] + flags + [image])
            XCTAssertEqual(r.code, 125, flags.joined(separator: " "))
            XCTAssertTrue(r.err.contains(message), r.err)
            XCTAssertFalse(r.err.contains("Missing value"), r.err)
        }
        let env = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "-e", "-x=1", "--entrypoint", "env", image])
        XCTAssertTrue(lines(env.out).contains("-x=1"), env.out + env.err)
    }

    func testErrors() throws {
        let missing = try swiftrun(["run", "--pull", "never", "no/such:image"])
        XCTAssertEqual(missing.code, 125)
        XCTAssertTrue(missing.err.contains("unable to find image 'no/such:image'"), missing.err)
        XCTAssertEqual(try swiftrun(["run", "--restart", "sometimes", image]).code, 125)
        XCTAssertTrue(try swiftrun(["run", "--health-interval", "5", image]).err.contains("invalid duration"))
        XCTAssertTrue(try swiftrun(["run", "--health-interval", "500us", image]).err.contains("cannot be less than 1ms"))
        XCTAssertTrue(try swiftrun(["run", "--no-healthcheck", "--health-retries", "2", image]).err.contains("conflicts with --health-"))
        XCTAssertTrue(try swiftrun(["run", "--name", "bad name", image]).err.contains("invalid container name"))
        let nope = try swiftrun(["stop", "nope"])
        XCTAssertEqual(nope.code, 1)
        XCTAssertTrue(nope.err.contains("No such container: nope"), nope.err)
        XCTAssertEqual(try swiftrun(["ps", "-aq"]).out, "", "failed runs leave nothing")
    }

    func testRestartPolicy() throws {
        let id = try runDetached(["--restart", "on-failure:2", "--entrypoint", "sh", image, "-c", "echo run; exit 1"])
        try waitUntil(10, "the retries to end") {
            let s = try state(id)
            return s["Status"] as? String == "exited" && Engine.dead(s)
        }
        let s = try inspect(id)
        XCTAssertEqual(s["RestartCount"] as? Int, 2)
        XCTAssertEqual(try swiftrun(["logs", id]).out, "run\nrun\nrun\n")

        // always: a stop is never undone.
        let a = try runDetached(["--restart", "always", "--entrypoint", "sh", image, "-c", "sleep 0.2; exit 0"])
        try waitUntil(10, "two restarts") { ((try state(a))["RestartCount"] as? Int ?? 0) >= 2 }
        XCTAssertEqual(try swiftrun(["stop", "-t", "1", a]).code, 0)
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.State.Status}}", a]).out, "exited\n")
    }

    func testSupervisorKilled() throws {
        let id = try runDetached(["--name", "victim", "--entrypoint", "sleep", image, "1000"])
        let st = try state(id)
        let sup = Int32(st["SupervisorPid"] as! Int), pid = Int32(st["Pid"] as! Int)
        XCTAssertEqual(kill(sup, SIGKILL), 0)
        waitUntil(5, "the container to die with its supervisor") {
            let s = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return s.isEmpty || s.contains(") Z")
        }
        let ps = try swiftrun(["ps", "-a"])
        XCTAssertTrue(ps.out.contains("Exited (137)"), ps.out)
        XCTAssertTrue(try swiftrun(["inspect", "-f", "{{.State.Error}}", "victim"]).out.contains("supervisor"))
        XCTAssertEqual(try swiftrun(["rm", "victim"]).code, 0)
    }

    /// Exit codes filled in by concurrent runs (one lock; the tests' threads only).
    final class Codes: @unchecked Sendable {
        private let lock = NSLock()
        private var codes: [Int32]
        init(_ n: Int) { codes = [Int32](repeating: -1, count: n) }
        func set(_ i: Int, _ code: Int32) { lock.lock(); codes[i] = code; lock.unlock() }
        var all: [Int32] { lock.lock(); defer { lock.unlock() }; return codes }
    }

    func testConcurrentRunsAndOneName() throws {
        let group = DispatchGroup()
        let runs = Codes(20)
        for i in 0..<20 {
            group.enter()
            DispatchQueue.global().async {
                let r = try? self.swiftrun(["run", "-d", "--no-healthcheck", "--entrypoint", "sleep", self.image, "100"])
                runs.set(i, r?.code ?? -2)
                group.leave()
            }
        }
        group.wait()
        XCTAssertEqual(runs.all, [Int32](repeating: 0, count: 20))
        XCTAssertEqual(lines(try swiftrun(["ps", "-q"]).out).count, 20)

        let creates = Codes(5)
        for i in 0..<5 {
            group.enter()
            DispatchQueue.global().async {
                let r = try? self.swiftrun(["create", "--name", "one", self.image])
                creates.set(i, r?.code ?? -2)
                group.leave()
            }
        }
        group.wait()
        let named = creates.all
        XCTAssertEqual(named.filter { $0 == 0 }.count, 1, "exactly one wins the name: \(named)")
    }

    func testExec() throws {
        _ = try runDetached(["--name", "box", "--entrypoint", "sleep", image, "100"])
        let r = try swiftrun(["exec", "box", "sh", "-c", "id -u; pwd; echo $GREETING; cat /proc/1/cmdline | tr '\\0' ' '"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["1000", "/www", "hello", "sleep 100 "])
        XCTAssertEqual(try swiftrun(["exec", "box", "sh", "-c", "exit 5"]).code, 5)
    }

    /// kill -9 of the CLI at any moment of `run` leaves nothing half made: either no trace,
    /// or a container that `rm -f` removes; the name can be used again.
    func testCLIKilledMidRun() throws {
        for (i, delayMs) in [0, 5, 15, 30, 60, 120, 250, 500].enumerated() {
            try TestBundle.killAfter(delayMs, TestBundle.binDir + "/swiftrun", ["run", "--root", root, "--name", "victim", "--no-healthcheck"]
                                     + (i % 2 == 0 ? ["--network", "none"] : []) + ["--entrypoint", "sleep", image, "1000"])
            let ids = try swiftrun(["ps", "-aq", "--no-trunc"]).out.split(separator: "\n").map(String.init)
            if !ids.isEmpty {
                let rm = try swiftrun(["rm", "-f"] + ids)
                XCTAssertEqual(rm.code, 0, "after \(delayMs) ms: \(rm.err)")
            }
            // The name is free again: a run with it works.
            let again = try swiftrun(["run", "--rm", "--name", "victim", "--network", "none", "--no-healthcheck", "--entrypoint", "true", image])
            XCTAssertEqual(again.code, 0, "after \(delayMs) ms: \(again.err)")
        }
        // What a kill in the middle of create leaves (a directory without its record, the
        // name taken, its maker dead) is taken back by the next run with that name.
        let half = String(repeating: "ab", count: 32)
        try FileManager.default.createDirectory(atPath: root + "/containers/\(half)/rootfs", withIntermediateDirectories: true)
        try "999999999 1".write(toFile: root + "/containers/\(half)/creator", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/names/victim", withDestinationPath: half)
        let taken = try swiftrun(["run", "--rm", "--name", "victim", "--network", "none", "--no-healthcheck", "--entrypoint", "true", image])
        XCTAssertEqual(taken.code, 0, taken.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/containers/\(half)"))
        // And `container prune` sweeps one that no name points to.
        try FileManager.default.createDirectory(atPath: root + "/containers/\(half)/rootfs", withIntermediateDirectories: true)
        try swiftrun(["container", "prune", "-f"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/containers/\(half)"))
    }
}

enum Engine {
    /// The supervisor that wrote this state is gone.
    static func dead(_ s: [String: Any]) -> Bool {
        guard let p = s["SupervisorPid"] as? Int, p > 0 else { return true }
        let stat = (try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8)) ?? ""
        return stat.isEmpty || stat.contains(") Z")
    }
}
