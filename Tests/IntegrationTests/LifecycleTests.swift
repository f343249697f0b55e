import Foundation
import XCTest
import OCI

/// create → start → kill → delete, and the errors around them (runc's lifecycle.bats).
final class LifecycleTests: XCTestCase {
    func testCreateStartKillDelete() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        let pidFile = b.dir + "/pid"
        let c = try b.create(extra: ["--pid-file", pidFile])
        XCTAssertEqual(c.code, 0, c.err)
        let st = try XCTUnwrap(b.state())
        XCTAssertEqual(st.status, .created)
        XCTAssertEqual(st.bundle, b.dir)
        XCTAssertEqual(try String(contentsOfFile: pidFile, encoding: .utf8), String(st.pid!))
        // The init waits before exec: it is still swiftrun-init, from a sealed memfd.
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(st.pid!)/exe")
        XCTAssertTrue(exe.hasPrefix("/memfd:swiftrun-init"), exe)

        XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
        XCTAssertEqual(try b.state()?.status, .running)
        let again = try b.runc(["start", b.id])
        XCTAssertNotEqual(again.code, 0)
        XCTAssertTrue(again.err.contains("running, not created"), again.err)

        let del = try b.runc(["delete", b.id])
        XCTAssertNotEqual(del.code, 0, "a running container is not deleted without --force")
        XCTAssertTrue(del.err.contains("--force"), del.err)

        XCTAssertEqual(try b.runc(["kill", b.id, "KILL"]).code, 0)
        var status: State.Status?
        for _ in 0..<100 {
            status = try b.state()?.status
            if status == .stopped { break }
            usleep(20_000)
        }
        XCTAssertEqual(status, .stopped)
        XCTAssertEqual(try b.runc(["delete", b.id]).code, 0)
        XCTAssertNil(try b.state())
    }

    func testListAndDuplicateID() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        XCTAssertEqual(try b.create().code, 0)
        let dup = try b.create()
        XCTAssertNotEqual(dup.code, 0)
        XCTAssertTrue(dup.err.contains("already exists"), dup.err)
        let list = try b.runc(["list", "--format", "json"])
        XCTAssertTrue(list.out.contains("\"id\":\"\(b.id)\""), list.out)
        XCTAssertTrue(list.out.contains("\"status\":\"created\""), list.out)
        XCTAssertEqual(try b.runc(["delete", b.id]).code, 0, "a created container is deleted without --force")
    }

    func testRunReturnsExitCodeAndRemovesState() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let r = try b.run(["sh", "-c", "echo out; echo err >&2; exit 7"])
        XCTAssertEqual(r.code, 7)
        XCTAssertEqual(r.out, "out\n")
        XCTAssertTrue(r.err.contains("err\n"))
        XCTAssertNil(try b.state())
    }

    func testKillDeliversTheNamedSignal() throws {
        let b = try TestBundle(args: ["sh", "-c", "trap 'echo got-usr1 > /dev/shm/x; exit 3' USR1; while :; do sleep 0.05; done"])
        defer { b.cleanup() }
        XCTAssertEqual(try b.create().code, 0)
        XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
        usleep(200_000)
        XCTAssertEqual(try b.runc(["kill", b.id, "SIGUSR1"]).code, 0)
        for _ in 0..<100 where try b.state()?.status != .stopped { usleep(20_000) }
        XCTAssertEqual(try b.state()?.status, .stopped)
        let bad = try b.runc(["kill", b.id, "NOPE"])
        XCTAssertNotEqual(bad.code, 0)
        XCTAssertTrue(bad.err.contains("unknown signal"), bad.err)
    }

    /// `features` (runtime-spec features.md) says what tools may ask of us: idmapped mounts
    /// and seccomp notify among them.
    /// The bundle `runc spec` writes, unmodified: its ambient capabilities have no
    /// inheritable set beside them, so they cannot be raised; runc 1.1 and crun warn and run.
    func testAnUnmodifiedRuncSpecBundleRuns() throws {
        let b = try TestBundle()
        defer {
            _ = try? b.runc(["delete", "--force", b.id])
            b.cleanup()
        }
        let spec = try TestBundle.exec("/usr/sbin/runc", ["spec", "--bundle", b.dir])
        XCTAssertEqual(spec.code, 0, spec.err)
        let out = try ConsoleTests.receive(b, typing: "grep -E '^Cap(Eff|Amb)' /proc/self/status; exit 0") {
            let r = try b.runc(["--log", b.dir + "/log.json", "--log-format", "json", "create", "--bundle", b.dir,
                                "--console-socket", b.dir + "/console.sock", b.id])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
        }
        XCTAssertTrue(out.contains("CapEff:\t0000000020000420"), "AUDIT_WRITE, KILL, NET_BIND_SERVICE: \(out)")
        XCTAssertTrue(out.contains("CapAmb:\t0000000000000000"), out)
        let log = try String(contentsOfFile: b.dir + "/log.json", encoding: .utf8)
        XCTAssertTrue(log.contains("ambient capability CAP_KILL is not in both the permitted and inheritable sets"), log)
        XCTAssertTrue(log.contains("\"level\":\"warning\""), log)
    }

    /// crun's --regex is a search: 'test-*' takes test-a and test-b.
    func testDeleteByRegexSearches() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        for id in ["\(b.id)-a", "\(b.id)-b", "x\(b.id)"] { XCTAssertEqual(try b.create(id: id).code, 0) }
        XCTAssertEqual(try b.runc(["delete", "-f", "--regex", "^\(b.id)-*"]).code, 0)
        let left = lines(try b.runc(["list", "-q"]).out)
        XCTAssertEqual(left, ["x\(b.id)"])
        XCTAssertEqual(try b.runc(["delete", "-f", "x\(b.id)"]).code, 0)
    }

    /// `update --resources`, as containerd's shim calls it for UpdateContainerResources.
    func testUpdateResources() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        XCTAssertEqual(try b.create().code, 0)
        XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
        try "{}".write(toFile: b.dir + "/none.json", atomically: false, encoding: .utf8)
        let none = try b.runc(["update", "--resources", b.dir + "/none.json", b.id])
        XCTAssertEqual(none.code, 0, none.err)
        try #"{"pids": {"limit": 123}}"#.write(toFile: b.dir + "/pids.json", atomically: false, encoding: .utf8)
        let pids = try b.runc(["update", "--resources", b.dir + "/pids.json", b.id])
        let cg = TestBundle.cgroupRoot + "/swiftrun/" + b.id
        if (try? String(contentsOfFile: TestBundle.cgroupRoot + "/cgroup.controllers", encoding: .utf8))?.contains("pids") == true {
            XCTAssertEqual(pids.code, 0, pids.err)
            XCTAssertEqual(try String(contentsOfFile: cg + "/pids.max", encoding: .utf8), "123\n")
        } else {
            XCTAssertNotEqual(pids.code, 0, "this host's pids controller is not in cgroup v2")
            XCTAssertTrue(pids.err.contains("pids"), pids.err)
        }
        XCTAssertTrue(try b.runc(["update", b.id]).err.contains("--resources"))
    }

    func testFeatures() throws {
        let r = try TestBundle.exec(TestBundle.binDir + "/swiftrun-runc", ["features"])
        XCTAssertEqual(r.code, 0, r.err)
        let f = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let linux = try XCTUnwrap(f["linux"] as? [String: Any])
        XCTAssertEqual(((linux["mountExtensions"] as? [String: Any])?["idmap"] as? [String: Bool])?["enabled"], true)
        XCTAssertTrue(((linux["seccomp"] as? [String: Any])?["actions"] as? [String])?.contains("SCMP_ACT_NOTIFY") == true)
        XCTAssertTrue((f["mountOptions"] as? [String])?.contains("idmap") == true)
    }

    func testUnknownContainer() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        for cmd in [["state", "nope"], ["start", "nope"], ["kill", "nope"], ["delete", "nope"]] {
            let r = try b.runc(cmd)
            XCTAssertNotEqual(r.code, 0)
            XCTAssertTrue(r.err.contains("container nope does not exist"), "\(cmd): \(r.err)")
        }
    }

    func testErrorsGoToTheJSONLog() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let log = b.dir + "/log.json"
        let r = try TestBundle.exec(TestBundle.binDir + "/swiftrun-runc",
                                    ["--root", b.stateRoot, "--log", log, "--log-format", "json", "state", "nope"])
        XCTAssertNotEqual(r.code, 0)
        let line = try String(contentsOfFile: log, encoding: .utf8)
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["level"] as? String, "error")
        XCTAssertTrue((obj?["msg"] as? String ?? "").contains("does not exist"))
    }

    /// --systemd-cgroup where no systemd runs (this host, the VM): refused before anything
    /// is made, with runc's words and what to set instead, in the caller's JSON log.
    func testSystemdCgroupDriverWithoutSystemdIsAClearError() throws {
        guard !FileManager.default.fileExists(atPath: "/run/systemd/system") else { throw XCTSkip("systemd runs here") }
        let b = try TestBundle()
        defer { b.cleanup() }
        let log = b.dir + "/log.json"
        let r = try b.runc(["--log", log, "--log-format", "json", "--systemd-cgroup", "run", "--bundle", b.dir, b.id])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("systemd not running on this host") && r.err.contains("SystemdCgroup = false"), r.err)
        XCTAssertTrue(try String(contentsOfFile: log, encoding: .utf8).contains("\"level\":\"error\""))
        XCTAssertNotEqual(try b.runc(["state", b.id]).code, 0, "no container made")
    }
}
