import XCTest
@testable import CLI
@testable import Engine
import OCI
import OS
import Network

final class HealthUnitTests: XCTestCase {
    let ms: Int64 = 1_000_000, s: Int64 = 1_000_000_000

    func testResolveOverridesFieldByField() throws {
        let image = ImageConfig.Healthcheck(Test: ["CMD", "true"], Interval: 2 * s, Timeout: nil, StartPeriod: 5 * s, StartInterval: nil, Retries: 4)
        var o = Health.Overrides()
        o.timeout = 1 * s
        let h = try Health.resolve(image, o)!
        XCTAssertEqual(h.Test!, ["CMD", "true"])
        XCTAssertEqual(h.Interval, 2 * s)
        XCTAssertEqual(h.Timeout, 1 * s)
        XCTAssertEqual(h.Retries, 4)
        o.cmd = "curl -f http://localhost/health || exit 1"
        XCTAssertEqual(try Health.resolve(image, o)!.Test!, ["CMD-SHELL", "curl -f http://localhost/health || exit 1"])
        let t = Health.Timing(ImageConfig.Healthcheck(Test: ["CMD", "x"], Interval: 0, Timeout: nil, StartPeriod: nil, StartInterval: 0, Retries: 0))
        XCTAssertEqual(t, Health.Timing(ImageConfig.Healthcheck(Test: ["CMD", "x"], Interval: 30 * s, Timeout: 30 * s, StartPeriod: 0, StartInterval: 5 * s, Retries: 3)),
                       "zero means default")
    }

    func testResolveDisablesAndValidates() throws {
        let image = ImageConfig.Healthcheck(Test: ["CMD", "true"], Interval: nil, Timeout: nil, StartPeriod: nil, StartInterval: nil, Retries: nil)
        var off = Health.Overrides()
        off.disable = true
        XCTAssertNil(try Health.resolve(image, off))
        XCTAssertNil(try Health.resolve(ImageConfig.Healthcheck(Test: ["NONE"], Interval: nil, Timeout: nil, StartPeriod: nil, StartInterval: nil, Retries: nil), .init()))
        var warned = ""
        XCTAssertNil(try Health.resolve(ImageConfig.Healthcheck(Test: ["WEIRD", "x"], Interval: nil, Timeout: nil, StartPeriod: nil, StartInterval: nil, Retries: nil), .init(), warn: { warned = $0 }))
        XCTAssertTrue(warned.contains("unknown health check type WEIRD"))
        var bad = Health.Overrides()
        bad.interval = 500_000
        XCTAssertThrowsError(try Health.resolve(image, bad)) { XCTAssertEqual("\($0)", "Interval in Healthcheck cannot be less than 1ms") }
        bad = Health.Overrides()
        bad.retries = -1
        XCTAssertThrowsError(try Health.resolve(image, bad)) { XCTAssertEqual("\($0)", "--health-retries cannot be negative") }
        off.retries = 2
        XCTAssertThrowsError(try Health.resolve(image, off))
    }

    func result(_ code: Int, _ at: Int64) -> HealthResult {
        HealthResult(Start: "\(at)", End: "\(at)", ExitCode: code, Output: "")
    }

    func testStatusMachine() {
        var m = HealthMonitor(timing: .init(ImageConfig.Healthcheck(Test: ["CMD", "x"], Interval: s, Timeout: s, StartPeriod: 10 * s, StartInterval: s / 2, Retries: 3)),
                              startedNs: 0)
        // Inside the start period: failures are logged, not counted; the start interval applies.
        XCTAssertEqual(m.nextWait(nowNs: 0), s / 2)
        XCTAssertNil(m.record(result(1, 1 * s), startNs: 1 * s))
        XCTAssertEqual(m.state.FailingStreak, 0)
        // A success counts at once, even inside the start period.
        XCTAssertEqual(m.record(result(0, 4 * s), startNs: 4 * s), .healthy)
        XCTAssertEqual(m.nextWait(nowNs: 5 * s), s, "healthy: the interval, start period or not")
        XCTAssertNil(m.record(result(1, 5 * s), startNs: 5 * s))
        XCTAssertNil(m.record(result(2, 6 * s), startNs: 6 * s))
        XCTAssertEqual(m.record(result(-1, 7 * s), startNs: 7 * s), .unhealthy)
        XCTAssertEqual(m.state.FailingStreak, 3)
        XCTAssertNil(m.record(result(1, 8 * s), startNs: 8 * s))
        XCTAssertEqual(m.state.Log.count, 5)
        XCTAssertEqual(m.record(result(0, 9 * s), startNs: 9 * s), .healthy)
        XCTAssertEqual(m.state.FailingStreak, 0)
        m.restarted(atNs: 20 * s)
        XCTAssertEqual(m.state.Status, .starting)
        XCTAssertEqual(m.state.Log.count, 5, "a restart keeps the log")
        XCTAssertEqual(m.state.Log.map(\.ExitCode), [1, 2, -1, 1, 0], "the last 5, oldest first")
    }

    func testStartIntervalNeedsAStartPeriod() {
        let m = HealthMonitor(timing: .init(ImageConfig.Healthcheck(Test: ["CMD", "x"], Interval: 3 * s, Timeout: s, StartPeriod: 0, StartInterval: 100 * ms, Retries: 1)), startedNs: 0)
        XCTAssertEqual(m.nextWait(nowNs: 0), 3 * s)
    }

    func testProbeArgsAndOutput() {
        XCTAssertEqual(Health.probeArgs(["CMD-SHELL", "curl -f x || exit 1"], shell: ["/bin/bash", "-eo", "pipefail", "-c"]),
                       ["/bin/bash", "-eo", "pipefail", "-c", "curl -f x || exit 1"])
        XCTAssertEqual(Health.probeArgs(["CMD", "curl", "-f", "x"], shell: []), ["curl", "-f", "x"])
        XCTAssertEqual(Health.output(Array(repeating: 0x61, count: 5000), truncated: false), String(repeating: "a", count: 4096) + "...")
        XCTAssertEqual(Health.output(Array("ok\n".utf8), truncated: false), "ok\n")
    }

    func testGoDurations() {
        XCTAssertEqual(GoDuration.parse("1s"), s)
        XCTAssertEqual(GoDuration.parse("1.5s"), 1500 * ms)
        XCTAssertEqual(GoDuration.parse("1m30s"), 90 * s)
        XCTAssertEqual(GoDuration.parse("500ms"), 500 * ms)
        XCTAssertEqual(GoDuration.parse("0"), 0)
        XCTAssertNil(GoDuration.parse("5"))
        XCTAssertNil(GoDuration.parse("1x"))
        XCTAssertEqual(GoDuration.format(s), "1s")
        XCTAssertEqual(GoDuration.format(1500 * ms), "1.5s")
        XCTAssertEqual(GoDuration.format(500 * ms), "500ms")
        XCTAssertEqual(GoDuration.format(90 * s), "1m30s")
        XCTAssertEqual(GoDuration.format(3600 * s), "1h0m0s")
    }
}

final class DockerWordsTests: XCTestCase {
    /// Docker's sizes: three significant digits, decimal units (units.HumanSizeWithPrecision).
    func testHumanSizesAsDockerPrintsThem() {
        XCTAssertEqual([0, 999, 1000, 2_135_040, 16_430_000, 133_400_000, 999_999, 5_000].map { Images.human($0) },
                       ["0B", "999B", "1kB", "2.14MB", "16.4MB", "133MB", "1MB", "5kB"])
    }
    let s: Int64 = 1_000_000_000

    func testHumanDuration() {
        XCTAssertEqual(DockerWords.humanDuration(s / 2), "Less than a second")
        XCTAssertEqual(DockerWords.humanDuration(s), "1 second")
        XCTAssertEqual(DockerWords.humanDuration(40 * s), "40 seconds")
        XCTAssertEqual(DockerWords.humanDuration(90 * s), "About a minute")
        XCTAssertEqual(DockerWords.humanDuration(3 * 60 * s), "3 minutes")
        XCTAssertEqual(DockerWords.humanDuration(3600 * s), "About an hour")
        XCTAssertEqual(DockerWords.humanDuration(5 * 3600 * s), "5 hours")
        XCTAssertEqual(DockerWords.humanDuration(3 * 86400 * s), "3 days")
    }

    func testStatus() {
        var st = ContainerState()
        XCTAssertEqual(DockerWords.status(st, nowNs: 0), "Created")
        st.Status = .running; st.Running = true; st.StartedNs = 0
        st.Health = HealthState(Status: .starting)
        XCTAssertEqual(DockerWords.status(st, nowNs: 12 * s), "Up 12 seconds (health: starting)")
        st.Health!.Status = .healthy
        XCTAssertEqual(DockerWords.status(st, nowNs: 40 * s), "Up 40 seconds (healthy)")
        st.Status = .exited; st.ExitCode = 137; st.FinishedNs = 0
        XCTAssertEqual(DockerWords.status(st, nowNs: 5 * s), "Exited (137) 5 seconds ago")
        XCTAssertEqual(DockerWords.command("uvicorn", ["app:app", "--host", "0.0.0.0"], truncate: true), "\"uvicorn app:app --h…\"")
        XCTAssertEqual(DockerWords.command("sh", ["-c", "echo hi"], truncate: false), "\"sh -c 'echo hi'\"")
    }
}

final class JSONLogTests: XCTestCase {
    func testWriteSplitRotateAndRead() throws {
        let dir = "/tmp/swiftrun-unit-log-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try JSONLogWriter(path: dir + "/c-json.log", maxSize: 1 << 20, maxFile: 2)
        let text = Array("héllo \"q\"\tx\u{1}\nsecond ".utf8) + [0xff] + Array("\n".utf8)
        text.withUnsafeBytes { w.write($0, stream: "stdout") }
        let long = [UInt8](repeating: 0x62, count: 20000) + [0x0a]
        long.withUnsafeBytes { w.write($0, stream: "stderr") }
        Array("tail".utf8).withUnsafeBytes { w.write($0, stream: "stdout") }
        w.finish()
        let lines = try String(contentsOfFile: dir + "/c-json.log", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        XCTAssertTrue(lines[0].hasPrefix(#"{"log":"héllo \"q\"\tx\u0001\n","stream":"stdout","time":""#), String(lines[0]))
        XCTAssertTrue(lines[1].hasPrefix(#"{"log":"second \#u{fffd}\n""#), "invalid UTF-8 becomes U+FFFD: \(lines[1])")
        let partial = JSONLogReader.parse(ArraySlice(Array(lines[2].utf8)))!
        XCTAssertEqual(partial.log.count, 16384, "lines over 16 KiB are split")
        XCTAssertTrue(partial.stderr)
        XCTAssertEqual(JSONLogReader.parse(ArraySlice(Array(lines[3].utf8)))!.log.count, 20000 - 16384 + 1)
        let first = JSONLogReader.parse(ArraySlice(Array(lines[0].utf8)))!
        XCTAssertEqual(String(decoding: first.log, as: UTF8.self), "héllo \"q\"\tx\u{1}\n")
        XCTAssertNotNil(JSONLogReader.parseTime(first.time))

        let fd = open(dir + "/c-json.log", O_RDONLY)
        defer { close(fd) }
        let t = JSONLogReader.tailOffset(fd: fd, lines: 2)
        XCTAssertEqual(t.found, 2)
        XCTAssertEqual(t.offset, lines[0..<3].reduce(0) { $0 + $1.utf8.count + 1 })

        let small = try JSONLogWriter(path: dir + "/r-json.log", maxSize: 300, maxFile: 2)
        for i in 0..<20 { Array("line \(i)\n".utf8).withUnsafeBytes { small.write($0, stream: "stdout") } }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/r-json.log.1"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r-json.log.2"), "max-file 2: the current one and .1")
        XCTAssertLessThanOrEqual(Files.size(dir + "/r-json.log"), 300)
    }

    func testParseTime() {
        XCTAssertEqual(JSONLogReader.parseTime("1970-01-01T00:00:01.5Z"), 1_500_000_000)
        XCTAssertEqual(JSONLogReader.parseTime("2026-11-23T10:00:00Z"), 1_795_428_000 * 1_000_000_000)
        XCTAssertEqual(JSONLogReader.parseTime("2026-11-23T12:00:00+02:00"), 1_795_428_000 * 1_000_000_000)
    }
}

final class UlimitTests: XCTestCase {
    func testParseAsDockerDoes() throws {
        XCTAssertEqual(try Ulimit.parse("nofile=100:200"), Ulimit(Name: "nofile", Hard: 200, Soft: 100))
        XCTAssertEqual(try Ulimit.parse("nproc=64"), Ulimit(Name: "nproc", Hard: 64, Soft: 64))
        XCTAssertEqual(try Ulimit.parse("core=-1"), Ulimit(Name: "core", Hard: -1, Soft: -1))
        XCTAssertEqual(try Ulimit.parse("memlock=100:-1"), Ulimit(Name: "memlock", Hard: -1, Soft: 100))
        for (bad, words) in [("nofile", "invalid ulimit argument: nofile"), ("files=1", "invalid ulimit type: files"),
                             ("nofile=2:1", "soft limit must be less than or equal to hard limit: 2 > 1"),
                             ("nofile=-1:10", "-1 > 10"), ("nofile=1:2:3", "can only have up to two"),
                             ("nofile=x", "invalid ulimit value: x")] {
            XCTAssertThrowsError(try Ulimit.parse(bad), bad) { XCTAssertTrue("\($0)".contains(words), "\(bad): \($0)") }
        }
        let free: (String) -> UInt64? = { _ in nil }
        let r = try Ulimit.rlimits([try Ulimit.parse("nofile=10:20"), try Ulimit.parse("core=-1")], ceiling: free)
        XCTAssertEqual(r, [.init(type: "RLIMIT_NOFILE", hard: 20, soft: 10), .init(type: "RLIMIT_CORE", hard: UInt64.max, soft: UInt64.max)])
        XCTAssertEqual(try Ulimit.rlimits([], ceiling: free), [.init(type: "RLIMIT_NOFILE", hard: 524_288, soft: 1024)], "Docker 25's default")
        // Without CAP_SYS_RESOURCE the hard limit cannot go up: the default bends, a flag is refused.
        let capped: (String) -> UInt64? = { _ in 800 }
        XCTAssertEqual(try Ulimit.rlimits([], ceiling: capped), [.init(type: "RLIMIT_NOFILE", hard: 800, soft: 800)])
        XCTAssertThrowsError(try Ulimit.rlimits([try Ulimit.parse("nofile=10:900")], ceiling: capped)) {
            XCTAssertTrue("\($0)".contains("cannot raise without CAP_SYS_RESOURCE"), "\($0)")
        }
    }
}

/// What an idle supervisor carries through swiftrun-idle comes back as it went.
final class HandoverUnitTests: XCTestCase {
    func testRoundTripsThroughJSON() throws {
        let veths = try JSON.decode([HostNetwork.GoingVeth].self, from: Array(#"[{"name":"sr0123456789","index":7}]"#.utf8), what: "test")
        let every = (0...255).map { UInt8($0) }
        // Real descriptors: what decodes owns its number again.
        let fd = { try FD.open("/dev/null", O_RDONLY) }
        var carried = Supervisor.Carried()
        carried.attachOut = 4
        carried.attachErr = 5
        carried.lockFD = 1000 // numbers only: not owned by FD objects
        carried.idleExe = 1001
        carried.memoryEvents = try fd()
        carried.oomKills = UInt64.max
        carried.oomKilled = true
        carried.reservations = PortReservations(fds: [try fd(), try fd()], ports: [
            PortBinding(hostIP: "127.0.0.1", hostPort: 8000, containerPort: 8080, proto: "tcp"),
            PortBinding(hostIP: "", hostPort: 5353, containerPort: 53, proto: "udp")])
        carried.nextProbeNs = Int64.max - 1
        carried.restarts.backoffNs = 60_000_000_000
        carried.probeCgroupMade = true
        carried.goingVeths = veths
        let h = Handover(carried: carried, pid: 4242, pidfd: try fd(), console: nil, out: try fd(), err: try fd(),
                         outOpen: true, errOpen: false, nameServer: try fd(), relay: true, relayNetns: try fd(),
                         pendingOut: every, pendingErr: Array("thr".utf8))
        let bytes = try JSON.encode(h)
        let back = try JSON.decode(Handover.self, from: bytes, what: "test")
        defer { for d in [back.pidfd, back.out!, back.err, back.carried.memoryEvents!, back.nameServer!, back.relayNetns!] + back.carried.reservations!.fds { _ = d.release() } }
        XCTAssertEqual(try JSON.encode(back), bytes)
        XCTAssertEqual(back.pendingOut, every, "any byte a container wrote")
        XCTAssertEqual(back.carried.oomKills, UInt64.max)
        XCTAssertEqual(back.carried.nextProbeNs, Int64.max - 1)
        XCTAssertEqual(back.carried.restarts, carried.restarts)
        XCTAssertEqual(back.carried.reservations?.ports, carried.reservations?.ports)
        XCTAssertNil(back.carried.cgroupEvents)
        XCTAssertEqual(back.fds, h.fds, "every fd it carries, a missing console left out")
        XCTAssertEqual(Set(h.fds).count, 10)
    }
}
