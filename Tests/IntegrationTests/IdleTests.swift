import Foundation
import XCTest

/// The supervisor while nothing happens: a quiet second after its last event it execs
/// swiftrun-idle (same pid, its fds kept), which execs it back when one of them is ready or
/// its next timer is due. Everything it does must go on across that: logs, health probes,
/// restarts, pause, published ports, a foreground run's output.
final class IdleTests: EngineTestCase {
    func testIdleSupervisorGivesItsMemoryBack() throws {
        let id = try runDetached(["--no-healthcheck", "--entrypoint", "sh", image, "-c",
                                  "mkfifo /tmp/go /tmp/go2; echo one; read x < /tmp/go; printf 'two\\nthr'; read y < /tmp/go2; echo ee; sleep 1000"])
        let sup = try supervisor(id)
        try waitIdle(id)
        // conmon's idle PSS here is 0.4 MB (FACTS.md); a Swift supervisor's, 0.65 MB at best.
        let pss = smapsKB(sup, "Pss")
        XCTAssertTrue((0..<100).contains(pss), "idle PSS \(pss) kB (swiftrun-idle: ~13 kB)")
        XCTAssertEqual(try swiftrun(["exec", id, "sh", "-c", "echo go > /tmp/go"]).code, 0)
        try waitUntil(10, "output written while idle") { try swiftrun(["logs", id]).out == "one\ntwo\n" }
        // "thr" waits for its newline in the supervisor's memory: through the handover too.
        try waitIdle(id)
        XCTAssertEqual(try swiftrun(["exec", id, "sh", "-c", "echo go > /tmp/go2"]).code, 0)
        try waitUntil(10, "the line ended after a handover") { try swiftrun(["logs", id]).out == "one\ntwo\nthree\n" }
        let raw = try String(contentsOfFile: root + "/containers/\(id)/\(id)-json.log", encoding: .utf8)
        XCTAssertEqual(lines(raw).count, 3, "one entry per line: \(raw)")
        XCTAssertEqual(try supervisor(id), sup, "the same process throughout")
        XCTAssertEqual(try swiftrun(["stop", "-t", "1", id]).code, 0)
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.State.Status}}", id]).out, "exited\n")
    }

    /// Without swiftrun-idle the supervisor says so and waits in place, having given back
    /// what it can (sr_release_and_poll).
    func testWithoutTheIdleProgram() throws {
        let r = try TestBundle.exec("/usr/bin/env", ["SWIFTRUN_IDLE=/nonexistent/swiftrun-idle", TestBundle.binDir + "/swiftrun"]
                                    + withRoot(["run", "-d", "--no-healthcheck", "--entrypoint", "sh", image, "-c",
                                                "mkfifo /tmp/go; echo one; read x < /tmp/go; echo two; sleep 1000"]))
        XCTAssertEqual(r.code, 0, r.err)
        let id = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let sup = try supervisor(id)
        // conmon's idle RSS here is 2.2-2.5 MB (FACTS.md); a supervisor that has just started a
        // container has touched 8-16 MB.
        waitUntil(10, "the idle supervisor's RSS under 2.5 MB") { (0..<2500).contains(smapsKB(sup, "Rss")) }
        XCTAssertEqual(comm(sup), "swiftrun-superv")
        let log = try String(contentsOfFile: root + "/containers/\(id)/supervisor.log", encoding: .utf8)
        XCTAssertTrue(log.contains("/nonexistent/swiftrun-idle") && log.contains("idling in place"), log)
        XCTAssertEqual(try swiftrun(["exec", id, "sh", "-c", "echo go > /tmp/go"]).code, 0)
        try waitUntil(10, "output after the release") { try swiftrun(["logs", id]).out == "one\ntwo\n" }
        XCTAssertEqual(try swiftrun(["stop", "-t", "1", id]).code, 0)
    }

    /// Probes go on (a timer wake), a kill while idle restarts the container (a pidfd wake),
    /// pause and unpause are seen (cgroup.events), the relay accepts (a listener wake).
    func testHealthRestartPauseAndPortsAcrossIdle() throws {
        let id = try runDetached(["--restart", "on-failure", "--network", "none", "-p", "127.0.0.1::8080", image])
        let sup = try supervisor(id)
        try waitUntil(10, "healthy") { try health(id)?["Status"] as? String == "healthy" }
        try waitIdle(id)
        let idleSince = Date().timeIntervalSince1970
        try waitUntil(10, "a probe started after a handover") {
            let log = (try health(id)?["Log"] as? [[String: Any]]) ?? []
            return log.contains { Double(rfcNanos($0["Start"] as! String)) / 1e9 > idleSince }
        }
        XCTAssertEqual(try health(id)?["FailingStreak"] as? Int, 0)

        // The relay's listener is polled by swiftrun-idle.
        let port = try swiftrun(["port", id, "8080"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(port.hasPrefix("127.0.0.1:"), port)
        try waitIdle(id)
        let got = try TestBundle.exec("/usr/bin/curl", ["-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://\(port)/"])
        XCTAssertEqual(got.out, "200", got.err)

        try waitIdle(id)
        XCTAssertEqual(try swiftrun(["pause", id]).code, 0)
        try waitUntil(5, "paused and unhealthy") {
            try swiftrun(["inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", id]).out == "paused unhealthy\n"
        }
        try waitIdle(id)
        XCTAssertEqual(try swiftrun(["unpause", id]).code, 0)
        try waitUntil(10, "running and healthy again") {
            try swiftrun(["inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", id]).out == "running healthy\n"
        }

        try waitIdle(id)
        let pid = Int32(try state(id)["Pid"] as! Int)
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        try waitUntil(10, "the on-failure restart") {
            let s = try state(id)
            return s["RestartCount"] as? Int == 1 && s["Running"] as? Bool == true && s["Pid"] as? Int != Int(pid)
        }
        XCTAssertEqual(try supervisor(id), sup)
        XCTAssertEqual(try swiftrun(["stop", "-t", "1", id]).code, 0)
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", id]).out, "exited 1\n")
    }

    /// The foreground run's stdout/stderr and exit code come through a handover.
    func testForegroundRunAcrossIdle() throws {
        final class Box: @unchecked Sendable { var r: TestBundle.Result? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            box.r = try? self.swiftrun(["run", "--rm", "--name", "fg", "--no-healthcheck", "--entrypoint", "sh", self.image, "-c",
                                        "mkfifo /tmp/go; echo early; read x < /tmp/go; echo late; echo err >&2; exit 3"])
            done.signal()
        }
        try waitUntil(10, "the foreground container running") {
            try swiftrun(["inspect", "-f", "{{.State.Running}}", "fg"]).out == "true\n"
        }
        try waitIdle("fg") // the attached CLI's stdout and stderr are held by swiftrun-idle now
        // Its code is not the point: the container may exit, and its pid namespace take the
        // exec's shell with it (137), before that shell has exited by itself.
        _ = try swiftrun(["exec", "fg", "sh", "-c", "echo go > /tmp/go"])
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success, "the foreground run ended")
        let r = try XCTUnwrap(box.r)
        XCTAssertEqual(r.code, 3, r.err)
        XCTAssertEqual(r.out, "early\nlate\n")
        XCTAssertEqual(r.err, "err\n")
    }

    /// kill -9 of the idle process is a kill -9 of the supervisor: the container goes too.
    func testIdleSupervisorKilled() throws {
        let id = try runDetached(["--name", "victim", "--no-healthcheck", "--entrypoint", "sleep", image, "1000"])
        let pid = Int32(try state(id)["Pid"] as! Int)
        try waitIdle(id)
        XCTAssertEqual(kill(try supervisor(id), SIGKILL), 0)
        waitUntil(5, "the container to die with its supervisor") {
            let s = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return s.isEmpty || s.contains(") Z")
        }
        XCTAssertTrue(try swiftrun(["ps", "-a"]).out.contains("Exited (137)"))
        XCTAssertTrue(try swiftrun(["inspect", "-f", "{{.State.Error}}", "victim"]).out.contains("supervisor"))
        XCTAssertEqual(try swiftrun(["rm", "victim"]).code, 0)
    }
}
