import Foundation
import XCTest

/// Health checks run by the supervisor with Docker's semantics (moby daemon/health.go),
/// asserted on the status timeline, the probe log and the events.
final class HealthTests: EngineTestCase {
    let sleeper = ["--entrypoint", "sleep"]

    func log(_ h: [String: Any]?) -> [[String: Any]] { (h?["Log"] as? [[String: Any]]) ?? [] }

    func testUnhealthyAfterExactlyRetriesFailures() throws {
        let id = try runDetached(["--health-cmd", "echo nope; exit 1", "--health-interval", "200ms", "--health-retries", "3",
                                  "--health-start-period", "0s"] + sleeper + [image, "100"])
        XCTAssertTrue(try swiftrun(["ps"]).out.contains("(health: starting)"))
        try waitUntil(10, "unhealthy") { try health(id)?["Status"] as? String == "unhealthy" }
        XCTAssertTrue(try swiftrun(["ps", "--filter", "health=unhealthy", "-q"]).out.hasPrefix(String(id.prefix(12))))
        XCTAssertTrue(try swiftrun(["ps"]).out.contains("(unhealthy)"))
        XCTAssertEqual(try swiftrun(["stop", "-t", "0", id]).code, 0)
        let h = try health(id)!
        let entries = log(h)
        XCTAssertTrue(entries.allSatisfy { $0["ExitCode"] as? Int == 1 && $0["Output"] as? String == "nope\n" })
        let ev = try events(id).filter { $0.0.hasPrefix("health_status") }
        XCTAssertEqual(ev.map(\.0), ["health_status: unhealthy"], "one event per change")
        // The change came with the third failure: after its end, before any fourth probe.
        let all = entries.map { (rfcNanos($0["Start"] as! String), rfcNanos($0["End"] as! String)) }
        let streak = h["FailingStreak"] as! Int
        XCTAssertGreaterThanOrEqual(streak, 3)
        let third = all[all.count - (streak - 2)]  // the log holds the last min(5, streak) results
        XCTAssertGreaterThanOrEqual(ev[0].1, third.1)
        if streak > 3 { XCTAssertLessThan(ev[0].1, all[all.count - (streak - 3)].0) }
        XCTAssertEqual(h["Status"] as? String, "unhealthy", "a stopped container stays unhealthy")
    }

    func testStartPeriodAndStartInterval() throws {
        // Failures inside the start period do not count; probes run every start interval
        // while starting; the first success makes it healthy at once.
        let id = try runDetached(["--health-cmd", "test -e /tmp/ready", "--health-interval", "30s", "--health-retries", "1",
                                  "--health-start-period", "10s", "--health-start-interval", "1s",
                                  "--entrypoint", "sh", image, "-c", "sleep 4; touch /tmp/ready; exec sleep 100"])
        let t0 = Date()
        try waitUntil(8, "healthy") { try health(id)?["Status"] as? String == "healthy" }
        let took = Date().timeIntervalSince(t0)
        XCTAssertGreaterThan(took, 3.5)
        XCTAssertLessThan(took, 6.5, "a probe every second: healthy about 1 s after ready")
        let h = try health(id)!
        XCTAssertEqual(h["FailingStreak"] as? Int, 0)
        let entries = log(h)
        XCTAssertEqual(entries.last?["ExitCode"] as? Int, 0)
        XCTAssertGreaterThanOrEqual(entries.filter { $0["ExitCode"] as? Int == 1 }.count, 3)
        XCTAssertEqual(try events(id).filter { $0.0.hasPrefix("health_status") }.map(\.0), ["health_status: healthy"])
    }

    func testStartIntervalIgnoredWithoutStartPeriod() throws {
        let id = try runDetached(["--health-cmd", "true", "--health-interval", "3s", "--health-start-interval", "100ms",
                                  "--health-start-period", "0s"] + sleeper + [image, "100"])
        usleep(1_500_000)
        XCTAssertEqual(log(try health(id)).count, 0, "no start period: the first probe waits the interval")
        XCTAssertEqual(try health(id)?["Status"] as? String, "starting")
    }

    func testTimeoutKillsTheProbeTree() throws {
        // The first probe hangs with a child in the background; later ones pass at once, so
        // any "sleep 31" still there would be the killed probe's.
        let id = try runDetached(["--health-cmd", "test -e /tmp/once && exit 0; touch /tmp/once; echo partial; sleep 31 & sleep 32",
                                  "--health-timeout", "1s", "--health-interval", "300ms", "--health-start-period", "0s",
                                  "-u", "root"] + sleeper + [image, "100"]) // root: the image's /tmp is root's
        try waitUntil(8, "a timed-out probe") { !log(try health(id)).isEmpty }
        let e = log(try health(id))[0]
        XCTAssertEqual(e["ExitCode"] as? Int, -1)
        XCTAssertEqual(e["Output"] as? String, "Health check exceeded timeout (1s): partial\n")
        let took = rfcNanos(e["End"] as! String) - rfcNanos(e["Start"] as! String)
        XCTAssertGreaterThan(took, 900_000_000)
        XCTAssertLessThan(took, 2_000_000_000)
        let procs = try swiftrun(["exec", id, "sh", "-c", "ps -o args | grep -c '[s]leep 3[12]'"])
        XCTAssertEqual(procs.out, "0\n", "the probe and its background child were killed: \(procs.err)")
        try waitUntil(5, "a passing probe after the timeout") { try health(id)?["Status"] as? String == "healthy" }
        XCTAssertEqual(try swiftrun(["stop", "-t", "0", id]).code, 0)
        let probes = TestBundle.cgroupRoot + "/swiftrun/\(id)/swiftrun-health"
        XCTAssertFalse(FileManager.default.fileExists(atPath: probes), "the probe cgroup is removed")
    }

    func testOutputTruncatedAndLogKeepsFive() throws {
        let id = try runDetached(["--health-cmd", "head -c 10000 /dev/zero | tr '\\0' a", "--health-interval", "100ms"] + sleeper + [image, "100"])
        waitUntil(10, "7 probes") { self.probeCount(id) >= 7 }
        let entries = log(try health(id))
        XCTAssertEqual(entries.count, 5)
        let out = entries[0]["Output"] as! String
        XCTAssertEqual(out, String(repeating: "a", count: 4096) + "...")
        let starts = entries.map { rfcNanos($0["Start"] as! String) }
        XCTAssertEqual(starts, starts.sorted(), "oldest first")
    }

    var probeCounts: [String: Int] = [:]
    /// Counts probes by their distinct start times, as they pass through the 5-entry log.
    func probeCount(_ id: String) -> Int {
        guard let s = try? state(id), let h = s["Health"] as? [String: Any], let l = h["Log"] as? [[String: Any]] else { return 0 }
        for e in l { seen.insert(e["Start"] as? String ?? "") }
        return seen.count
    }
    var seen = Set<String>()

    func testProbeRunsAsTheContainer() throws {
        let id = try runDetached(["-e", "EXTRA=x", "--health-cmd", "id -u; pwd; echo $GREETING $EXTRA; echo $0",
                                  "--health-interval", "100ms"] + sleeper + [image, "100"])
        try waitUntil(5, "a probe") { !log(try health(id)).isEmpty }
        XCTAssertEqual(log(try health(id))[0]["Output"] as? String, "1000\n/www\nhello x\n/bin/sh\n",
                       "the image's USER, WORKDIR, ENV, and sh -c for CMD-SHELL")
    }

    func testRecoveryRestartAndWait() throws {
        let id = try runDetached(["--health-cmd", "test ! -e /tmp/bad", "--health-interval", "100ms", "--health-retries", "2",
                                  "-u", "root"] + sleeper + [image, "100"])
        let w = try swiftrun(["wait", "--condition", "healthy", "--timeout", "5s", id])
        XCTAssertEqual(w.code, 0, w.out + w.err)
        XCTAssertEqual(try swiftrun(["exec", id, "touch", "/tmp/bad"]).code, 0)
        try waitUntil(5, "unhealthy") { try health(id)?["Status"] as? String == "unhealthy" }
        XCTAssertEqual(try swiftrun(["exec", id, "rm", "/tmp/bad"]).code, 0)
        try waitUntil(5, "healthy again") { try health(id)?["Status"] as? String == "healthy" }
        XCTAssertEqual(try health(id)?["FailingStreak"] as? Int, 0)
        let before = log(try health(id)).count
        XCTAssertEqual(try swiftrun(["restart", "-t", "0", id]).code, 0)
        let h = try health(id)!
        XCTAssertEqual(h["Status"] as? String, "starting")
        XCTAssertGreaterThanOrEqual(log(h).count, before, "restart keeps the log")
        XCTAssertEqual(try events(id).filter { $0.0.hasPrefix("health_status") }.map(\.0),
                       ["health_status: healthy", "health_status: unhealthy", "health_status: healthy"])
    }

    func testStopEndsProbes() throws {
        let id = try runDetached(["--health-cmd", "true", "--health-interval", "100ms"] + sleeper + [image, "100"])
        try waitUntil(5, "healthy") { try health(id)?["Status"] as? String == "healthy" }
        XCTAssertEqual(try swiftrun(["stop", "-t", "0", id]).code, 0)
        let n = log(try health(id)).last?["Start"] as? String
        usleep(400_000)
        XCTAssertEqual(log(try health(id)).last?["Start"] as? String, n, "no probe after stop")
        XCTAssertEqual(try health(id)?["Status"] as? String, "unhealthy")
    }

    func testOnFailureActions() throws {
        // The image's start period (5 s) would hold the failures back: none here.
        let fail = ["--health-cmd", "exit 1", "--health-interval", "100ms", "--health-retries", "1", "--health-start-period", "0s"]
        let k = try runDetached(fail + ["--health-on-failure", "kill"] + sleeper + [image, "100"])
        try waitUntil(5, "killed") { try inspect(k)["State"].map { ($0 as! [String: Any])["Status"] as? String } == "exited" }
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.State.ExitCode}}", k]).out, "137\n")

        let s = try runDetached(fail + ["--health-on-failure", "stop", "--restart", "always", "-u", "root", "--entrypoint", "sh",
                                        image, "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"])
        try waitUntil(5, "stopped") { Engine.dead(try state(s)) }
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", s]).out, "exited 0 0\n",
                       "stop wins over the restart policy")

        let r = try runDetached(fail + ["--health-on-failure", "restart", "--stop-timeout", "0"] + sleeper + [image, "100"])
        try waitUntil(5, "restarted") { (try state(r)["RestartCount"] as? Int ?? 0) >= 1 }
        XCTAssertGreaterThanOrEqual(log(try health(r)).count, 1, "the log is kept across the restart")
    }

    func testHealthcheckRunByHand() throws {
        let id = try runDetached(["--health-cmd", "echo fine", "--health-interval", "1h"] + sleeper + [image, "100"])
        let r = try TestBundle.exec(TestBundle.binDir + "/swiftrun", ["healthcheck", "run", "--root", root, id])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "fine\nhealthy\n")
    }

    func testRunWaitHealthy() throws {
        let ok = try swiftrun(["run", "-d", "--wait-healthy", "--network", "none", "--health-cmd", "true", "--health-interval", "100ms", image])
        XCTAssertEqual(ok.code, 0, ok.err)
        let id = ok.out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try health(id)?["Status"] as? String, "healthy", "returned once healthy")
        let bad = try swiftrun(["run", "-d", "--wait-healthy=20s", "--network", "none", "--health-cmd", "echo nope; exit 1",
                                "--health-interval", "100ms", "--health-retries", "2", image])
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.err.contains("is unhealthy (last check: exit 1: nope)"), bad.err)
        let slow = try swiftrun(["run", "-d", "--wait-healthy=300ms", "--network", "none", "--health-cmd", "sleep 10",
                                 "--health-interval", "100ms", "--health-timeout", "30s", image])
        XCTAssertEqual(slow.code, 1)
        XCTAssertTrue(slow.err.contains("timed out waiting for"), slow.err)
        for r in [ok, bad, slow] { try swiftrun(["rm", "-f", r.out.trimmingCharacters(in: .whitespacesAndNewlines)]) }
    }
}
