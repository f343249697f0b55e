import Foundation
import XCTest

/// A failed create leaves nothing: no state, cgroup, process or mount.
final class FailureTests: XCTestCase {
    func assertNothingLeft(_ b: TestBundle, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: b.stateRoot)) ?? [], [], file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: TestBundle.cgroupRoot + "/swiftrun/" + b.id), file: file, line: line)
        // The bundle's own overlay rootfs is the harness's; nothing else may be mounted there.
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8).split(separator: "\n")
            .filter { $0.contains(b.dir) && !$0.contains(" \(b.dir)/rootfs ") }
        XCTAssertEqual(mounts, [], "a mount under the bundle leaked", file: file, line: line)
    }

    func testExecutableNotFound() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let r = try b.run(["no-such-program"])
        XCTAssertEqual(r.code, 127)
        XCTAssertTrue(r.err.contains("\"no-such-program\": executable file not found in $PATH"), r.err)
        try assertNothingLeft(b)
    }

    func testNotExecutable() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let r = try b.run(["/etc/passwd"])
        XCTAssertEqual(r.code, 126)
        XCTAssertTrue(r.err.contains("permission denied"), r.err)
        try assertNothingLeft(b)
    }

    func testFailureInsideInitCleansUp() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.linux!.sysctl = ["net.ipv4.no_such_knob": "1"]
        let r = try b.run(["true"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("sysctl") && r.err.contains("ENOENT"), r.err)
        try assertNothingLeft(b)
    }

    func testBadConfigNamesTheField() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        try #"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"cwd":"/","args":"sh"},"root":{"path":"rootfs"}}"#
            .write(toFile: b.dir + "/config.json", atomically: false, encoding: .utf8)
        let r = try b.runc(["create", "--bundle", b.dir, b.id])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("config.json: process.args: expected Array"), r.err)
        try assertNothingLeft(b)
    }

    func testTerminalWithoutConsoleSocketIsAClearError() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.process!.terminal = true
        try b.writeSpec()
        let r = try b.runc(["create", "--bundle", b.dir, b.id])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("pass --console-socket"), r.err)
        try assertNothingLeft(b)
    }
}
