import Foundation
import XCTest

/// exec joins every namespace, the cgroup, and the user/caps/seccomp of the container.
final class ExecTests: XCTestCase {
    func startLongRunning(_ b: TestBundle) throws {
        XCTAssertEqual(try b.create().code, 0)
        XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
    }

    func testExecJoinsTheContainer() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        b.spec.process!.user = .init(uid: 1000, gid: 1000)
        b.spec.process!.env!.append("FROM_SPEC=1")
        b.spec.linux!.seccomp = .init(defaultAction: "SCMP_ACT_ALLOW",
                                      syscalls: [.init(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1)])
        try startLongRunning(b)
        let initPid = try XCTUnwrap(b.state()?.pid)
        let script = "echo $$; hostname; id -u; echo $FROM_SPEC $EXTRA; for t in mnt pid net ipc uts cgroup; do readlink /proc/self/ns/$t; done; mkdir /tmp/x 2>/dev/null || echo denied; pwd; exit 5"
        let r = try b.runc(["exec", "--env", "EXTRA=2", "--cwd", "/tmp", b.id, "sh", "-c", script])
        XCTAssertEqual(r.code, 5, r.err)
        let out = lines(r.out)
        XCTAssertNotEqual(out[0], "1")
        XCTAssertEqual(out[1], "testbox")
        XCTAssertEqual(out[2], "1000")
        XCTAssertEqual(out[3], "1 2")
        for (i, t) in ["mnt", "pid", "net", "ipc", "uts", "cgroup"].enumerated() {
            XCTAssertEqual(out[4 + i], try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(initPid)/ns/\(t)"), t)
        }
        XCTAssertEqual(out[10], "denied", "the container's seccomp filter applies")
        XCTAssertEqual(out[11], "/tmp")
    }

    func testExecProcessRunsInTheContainersCgroupAndDetaches() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        try startLongRunning(b)
        let pidFile = b.dir + "/exec.pid"
        let r = try b.runc(["exec", "--detach", "--pid-file", pidFile, b.id, "sleep", "30"])
        XCTAssertEqual(r.code, 0, r.err)
        let pid = try String(contentsOfFile: pidFile, encoding: .utf8)
        let procs = try String(contentsOfFile: TestBundle.cgroupRoot + "/swiftrun/\(b.id)/cgroup.procs", encoding: .utf8)
        XCTAssertTrue(lines(procs).contains(pid), "\(pid) in \(procs)")
    }

    func testExecErrors() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        XCTAssertEqual(try b.create().code, 0)
        let notRunning = try b.runc(["exec", b.id, "true"])
        XCTAssertNotEqual(notRunning.code, 0)
        XCTAssertTrue(notRunning.err.contains("created, not running"), notRunning.err)
        XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
        let missing = try b.runc(["exec", b.id, "no-such-tool"])
        XCTAssertEqual(missing.code, 127)
        XCTAssertTrue(missing.err.contains("executable file not found"), missing.err)
        let procs = try String(contentsOfFile: TestBundle.cgroupRoot + "/swiftrun/\(b.id)/cgroup.procs", encoding: .utf8)
        XCTAssertEqual(lines(procs).count, 1, "a failed exec leaves no process behind")
    }

    /// CVE-2016-9962: while the exec init holds host fds, container processes cannot ptrace it.
    func testOnlyStdioReachesTheExecProcess() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        try startLongRunning(b)
        let r = try b.runc(["exec", b.id, "sh", "-c", "ls /proc/$$/fd; grep -E '^(SigBlk|SigIgn)' /proc/self/status; true"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["0", "1", "2", "SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"])
    }
}
