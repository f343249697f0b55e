import Foundation
import XCTest

/// Where the memory, cpu and pids controllers are in cgroup v2, as `make test` arranges in
/// its VM (Sysroot/vm): a pure cgroup v2 kernel whose root cgroup hands them down.
func cgroupV2Controllers() -> Set<String> {
    let text = (try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.subtree_control", encoding: .utf8)) ?? ""
    return Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
}

/// --memory, --cpus, --pids-limit, OOM, update and stats, observed in real cgroup v2
/// controllers. They need a kernel with them: `make test` runs this class in its VM
/// (`make vmtest`); on a hybrid host it is skipped, and LimitErrorTests runs instead.
final class CgroupV2LimitTests: EngineTestCase {

    override func setUpWithError() throws {
        guard cgroupV2Controllers().isSuperset(of: ["memory", "cpu", "pids"]) else {
            throw XCTSkip("needs memory, cpu and pids in cgroup v2 (this host has hybrid cgroups): `make vmtest` runs it in a VM")
        }
        try super.setUpWithError()
    }

    /// The container's cgroup directory, from its runtime record.
    func cgroupDir(_ id: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/runtime/\(id)/state.json"))
        let rec = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return (rec["cgroupMount"] as? String ?? "") + (rec["cgroupPath"] as? String ?? "")
    }

    func read(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testMemoryLimitOOMKillIsReported() throws {
        // tail keeps everything it reads from a stream with no line end: it grows until killed.
        let r = try swiftrun(["run", "--name", "hog", "--network", "none", "--no-healthcheck", "--memory", "32m", "--entrypoint", "sh", image,
                              "-c", "head -c 200m /dev/zero | tail > /dev/null"])
        XCTAssertEqual(r.code, 137, "the OOM kill's SIGKILL as Docker reports it: \(r.err)")
        let i = try inspect("hog")
        let st = i["State"] as? [String: Any] ?? [:]
        XCTAssertEqual(st["OOMKilled"] as? Bool, true)
        XCTAssertEqual(st["ExitCode"] as? Int, 137)
        let hc = i["HostConfig"] as? [String: Any] ?? [:]
        XCTAssertEqual(hc["Memory"] as? Int, 32 << 20)
        XCTAssertEqual(hc["MemorySwap"] as? Int, 64 << 20, "Docker's default: swap as much again as memory")
        let id = i["Id"] as? String ?? ""
        XCTAssertTrue(try events(id).contains { $0.0 == "oom" }, "an oom event")
        // A run that stays in its limit is not marked.
        let ok = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "--memory", "32m", "--entrypoint", "sh", image,
                               "-c", "head -c 8m /dev/zero | tail > /dev/null; cat /sys/fs/cgroup/memory.max"])
        XCTAssertEqual(ok.code, 0, ok.err)
        XCTAssertEqual(ok.out.trimmingCharacters(in: .whitespacesAndNewlines), String(32 << 20), "the limit seen from inside")
    }

    func testPidsLimitFailsTheFifthFork() throws {
        // sh is one process; four sleeps make five; the fifth fork is refused (and sh exits).
        let r = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "--pids-limit", "5", "--entrypoint", "sh", image, "-c",
                              "for i in 1 2 3 4 5 6; do sleep 3 & echo forked $i; done"])
        XCTAssertTrue(r.out.contains("forked 4") && !r.out.contains("forked 5"), "four forks succeed, the fifth fails: \(r.out)")
        XCTAssertTrue(r.err.contains("can't fork"), r.err)
        let ok = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "--pids-limit", "5", "--entrypoint", "cat", image,
                               "/sys/fs/cgroup/pids.max"])
        XCTAssertEqual(ok.out.trimmingCharacters(in: .whitespacesAndNewlines), "5")
    }

    func testCpusThrottlesABusyLoop() throws {
        let id = try runDetached(["--network", "none", "--no-healthcheck", "--cpus", "0.1", "--entrypoint", "sh", image, "-c", "while :; do :; done"])
        let dir = try cgroupDir(id)
        XCTAssertEqual(read(dir + "/cpu.max"), "10000 100000", "0.1 CPU: 10 ms per 100 ms")
        // The kernel throttles it in every period it exceeds: counted, not timed.
        waitUntil(30, "nr_throttled > 3") {
            let stat = read(dir + "/cpu.stat")
            return stat.split(separator: "\n").contains { $0.hasPrefix("nr_throttled ") && (Int($0.split(separator: " ")[1]) ?? 0) > 3 }
        }
        try swiftrun(["rm", "-f", id])
    }

    func testUpdateChangesLiveLimitsAndStatsShowThem() throws {
        let id = try runDetached(["--name", "api", "--network", "none", "--no-healthcheck", "--memory", "64m", "--pids-limit", "10",
                                  "--entrypoint", "sleep", image, "1000"])
        let dir = try cgroupDir(id)
        XCTAssertEqual(read(dir + "/memory.max"), String(64 << 20))
        var s = try swiftrun(["stats", "--no-stream", "--format", "json", "api"])
        XCTAssertEqual(s.code, 0, s.err)
        let row = try JSONSerialization.jsonObject(with: Data(s.out.utf8)) as? [String: Any] ?? [:]
        XCTAssertTrue((row["MemUsage"] as? String ?? "").hasSuffix(" / 64MiB"), "stats shows the limit: \(s.out)")
        XCTAssertEqual(row["PIDs"] as? String, "1")
        XCTAssertEqual(row["Name"] as? String, "api")

        let u = try swiftrun(["update", "--memory", "128m", "--cpus", "0.5", "--pids-limit", "20", "api"])
        XCTAssertEqual(u.code, 0, u.err)
        XCTAssertEqual(read(dir + "/memory.max"), String(128 << 20))
        XCTAssertEqual(read(dir + "/memory.swap.max"), String(128 << 20), "the default swap moved with memory")
        XCTAssertEqual(read(dir + "/cpu.max"), "50000 100000")
        XCTAssertEqual(read(dir + "/pids.max"), "20")
        s = try swiftrun(["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", "api"])
        XCTAssertTrue(s.out.contains(" / 128MiB"), s.out)
        let hc = try inspect("api")["HostConfig"] as? [String: Any] ?? [:]
        XCTAssertEqual(hc["Memory"] as? Int, 128 << 20)
        XCTAssertEqual(hc["NanoCpus"] as? Int, 500_000_000)
        XCTAssertEqual(hc["PidsLimit"] as? Int, 20)

        // A refused update changes nothing.
        let bad = try swiftrun(["update", "--memory", "4m", "api"])
        XCTAssertEqual(bad.code, 125)
        XCTAssertTrue(bad.err.contains("Minimum memory limit allowed is 6MB"), bad.err)
        XCTAssertEqual(read(dir + "/memory.max"), String(128 << 20))

        // The new limits hold for the next start too.
        try swiftrun(["stop", "-t", "0", "api"])
        try swiftrun(["start", "api"])
        let id2dir = try cgroupDir(id)
        XCTAssertEqual(read(id2dir + "/memory.max"), String(128 << 20))
        XCTAssertEqual(read(id2dir + "/pids.max"), "20")
        try swiftrun(["rm", "-f", "api"])
    }
}

extension CgroupV2LimitTests {
    /// The other flags land in the files Docker's runc writes for them.
    func testEveryLimitFlagReachesItsFile() throws {
        let id = try runDetached(["--network", "none", "--no-healthcheck", "--memory", "64m", "--memory-reservation", "32m", "--memory-swap", "-1",
                                  "--cpu-shares", "512", "--cpuset-cpus", "0", "--blkio-weight", "300", "--entrypoint", "sleep", image, "1000"])
        let dir = try cgroupDir(id)
        XCTAssertEqual(read(dir + "/memory.low"), String(32 << 20))
        XCTAssertEqual(read(dir + "/memory.swap.max"), "max")
        XCTAssertEqual(read(dir + "/cpu.weight"), "20", "512 shares on runc's scale")
        XCTAssertEqual(read(dir + "/cpuset.cpus"), "0")
        let io = read(dir + "/io.weight")
        XCTAssertEqual(io, "default 2930", "blkio 300 → io.weight 1 + 290 * 9999 / 990")
        try swiftrun(["rm", "-f", id])
    }
}

/// On a host without the controllers in cgroup v2 (ours: hybrid), each limit fails before
/// anything is made, naming the flag and the controller; no limit, no error.
final class LimitErrorTests: EngineTestCase {

    func testMissingControllersFailBeforeTheContainerStarts() throws {
        let have = cgroupV2Controllers()
        let cases: [([String], String)] = [
            (["--memory", "32m"], "memory"), (["--memory-reservation", "16m"], "memory"), (["--cpus", "0.5"], "cpu"),
            (["--cpu-shares", "512"], "cpu"), (["--pids-limit", "5"], "pids"), (["--cpuset-cpus", "0"], "cpuset"),
            (["--blkio-weight", "300"], "io"),
        ]
        var tried = 0
        for (flags, controller) in cases where !have.contains(controller) {
            tried += 1
            for cmd in ["run", "create"] {
                let r = try swiftrun([cmd, "--rm", "--network", "none", "--entrypoint", "true"] + flags + [image])
                XCTAssertEqual(r.code, 125, "\(cmd) \(flags)")
                XCTAssertTrue(r.err.contains("\(flags[0]): the cgroup v2 \(controller) controller is not available"), r.err)
            }
        }
        if tried == 0 { throw XCTSkip("every controller is in cgroup v2 here") }
        XCTAssertEqual(try swiftrun(["ps", "-aq"]).out, "", "nothing was created")
        let ok = try swiftrun(["run", "--rm", "--network", "none", "--entrypoint", "true", image])
        XCTAssertEqual(ok.code, 0, ok.err)
    }

    func testBadLimitValuesUseDockersWords() throws {
        let cases: [([String], String)] = [
            (["--memory", "4m"], "Minimum memory limit allowed is 6MB"),
            (["--memory", "12q"], "invalid argument \"12q\" for \"--memory\" flag"),
            (["--memory", "64m", "--memory-swap", "32m"], "Minimum memoryswap limit should be larger than memory limit"),
            (["--memory-swap", "64m"], "You should always set the Memory limit when using Memoryswap limit"),
            (["--memory", "32m", "--memory-reservation", "64m"], "Minimum memory limit can not be less than memory reservation limit"),
            (["--cpus", "99"], "Range of CPUs is from 0.01 to"),
            (["--cpus", "0.5", "--cpu-period", "50000"], "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
            (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
            (["--cpuset-cpus", "0-4095"], "Requested CPUs are not available"),
            (["--cpuset-cpus", "x"], "Invalid value x for cpuset cpus"),
        ]
        for (flags, words) in cases {
            let r = try swiftrun(["run", "--rm", "--network", "none", "--entrypoint", "true"] + flags + [image])
            XCTAssertEqual(r.code, 125, "\(flags)")
            XCTAssertTrue(r.err.contains(words), "\(flags): \(r.err)")
        }
        let u = try swiftrun(["update", "nosuch"])
        XCTAssertEqual(u.code, 1)
        XCTAssertTrue(u.err.contains("you must provide one or more flags"), u.err)
    }

    func testStatsOfARunningContainer() throws {
        let id = try runDetached(["--name", "web", "--no-healthcheck", image])
        let r = try swiftrun(["stats", "--no-stream", "--format", "json"])
        XCTAssertEqual(r.code, 0, r.err)
        let row = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(row["ID"] as? String, String(id.prefix(12)))
        XCTAssertTrue((row["CPUPerc"] as? String ?? "").hasSuffix("%"), r.out)
        // Without a v2 memory controller the usage is the processes' PSS, the limit the host's.
        XCTAssertTrue((row["MemUsage"] as? String ?? "").range(of: #"^[0-9.]+(B|KiB|MiB) / [0-9.]+GiB$"#, options: .regularExpression) != nil, r.out)
        XCTAssertNotEqual(row["PIDs"] as? String, "0")
        XCTAssertTrue((row["NetIO"] as? String ?? "").contains(" / "), r.out)
        let table = try swiftrun(["stats", "--no-stream"])
        XCTAssertTrue(table.out.hasPrefix("CONTAINER ID"), table.out)
        XCTAssertTrue(table.out.contains("web"), table.out)
        try swiftrun(["rm", "-f", id])
    }
}
