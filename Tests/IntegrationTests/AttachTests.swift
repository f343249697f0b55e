import Foundation
import XCTest

/// `run` (attached, -i), `start -a` and `exec` hand the container pipes or a pty of its own,
/// never the caller's fds: through /proc/self/fd/N a container could otherwise read a file
/// the caller only let it append to, truncate it, or keep reading the user's terminal.
final class AttachTests: EngineTestCase {
    var dir = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        dir = root + "-files"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
    }

    /// A shell line with swiftrun as $S (on this test's root), run in `dir`.
    func sh(_ line: String) throws -> TestBundle.Result {
        try TestBundle.exec("/bin/sh", ["-c", "cd \(dir) && export SWIFTRUN_ROOT=\(root) && S=\(TestBundle.binDir)/swiftrun && " + line])
    }

    func holder() throws -> String {
        try runDetached(["--name", "holder", "--network", "none", "--no-healthcheck", "--entrypoint", "sleep", image, "3000"])
    }

    func read(_ name: String) throws -> String { try String(contentsOfFile: dir + "/" + name, encoding: .utf8) }

    func testExecCannotReopenTheCallersFiles() throws {
        _ = try holder()
        // As root in the container: it may open whatever its fds lead to.
        try "HOST-SECRET\n".write(toFile: dir + "/out", atomically: false, encoding: .utf8)
        var r = try sh("$S exec -u root holder sh -c 'exec 3</proc/self/fd/1; cat <&3 >/tmp/copy' >> out")
        XCTAssertEqual(try sh("$S exec holder cat /tmp/copy").out, "", "the container read a file it was only given to append to")
        XCTAssertEqual(try read("out"), "HOST-SECRET\n")

        try "IMPORTANT\n".write(toFile: dir + "/o2", atomically: false, encoding: .utf8)
        r = try sh("$S exec -u root holder sh -c 'echo clobbered > /proc/self/fd/1' >> o2")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try read("o2"), "IMPORTANT\nclobbered\n", "appended through the relay, never truncated")

        try "DATA\n".write(toFile: dir + "/in", atomically: false, encoding: .utf8)
        r = try sh("$S exec -u root holder sh -c 'echo x > /proc/self/fd/0; readlink /proc/self/fd/0' < in")
        XCTAssertEqual(r.out, "/dev/null\n", "no -i: stdin is /dev/null")
        XCTAssertEqual(try read("in"), "DATA\n")
        r = try sh("$S exec -i -u root holder sh -c 'echo x > /proc/self/fd/0; cat' < in")
        XCTAssertTrue(r.out.contains("DATA\n"), "-i: what we give, through a pipe (which it may write into itself): \(r.out)")
        XCTAssertEqual(try read("in"), "DATA\n")
    }

    func testEveryAttachedProcessSeesPipesOrNull() throws {
        _ = try holder()
        let fds = "for f in 0 1 2; do readlink /proc/self/fd/$f; done"
        func check(_ r: TestBundle.Result, stdin: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(r.code, 0, r.err, file: file, line: line)
            let l = lines(r.out)
            XCTAssertEqual(l.count, 3, "\(what): \(r.out)", file: file, line: line)
            guard l.count == 3 else { return }
            XCTAssertTrue(stdin == "pipe" ? l[0].hasPrefix("pipe:[") : l[0] == "/dev/null", "\(what) stdin: \(l[0])", file: file, line: line)
            for o in l.dropFirst() { XCTAssertTrue(o.hasPrefix("pipe:["), "\(what) output: \(o)", file: file, line: line) }
        }
        try "in\n".write(toFile: dir + "/in", atomically: false, encoding: .utf8)
        check(try sh("$S exec holder sh -c '\(fds)' < in > o 2>e; cat o"), stdin: "null", "exec")
        check(try sh("$S exec -i holder sh -c '\(fds)' < in > o 2>e; cat o"), stdin: "pipe", "exec -i")
        let run = "--rm --network none --no-healthcheck --entrypoint sh \(image) -c '\(fds)'"
        check(try sh("$S run \(run) < in > o; cat o"), stdin: "null", "run")
        check(try sh("$S run -i \(run) < in > o; cat o"), stdin: "pipe", "run -i")
        XCTAssertEqual(try swiftrun(["create", "--name", "later", "--network", "none", "--no-healthcheck", "--entrypoint", "sh", image, "-c", fds]).code, 0)
        check(try sh("$S start -a later < in > o; cat o"), stdin: "null", "start -a")

        // -d: nothing of ours at all.
        let own = "echo $(readlink /proc/$$/fd/0) $(readlink /proc/$$/fd/1) $(readlink /proc/$$/fd/2) > /tmp/fds"
        XCTAssertEqual(try sh("$S exec -d holder sh -c '\(own)' < in > o").code, 0)
        waitUntil(10, "exec -d to write") { (try? swiftrun(["exec", "holder", "cat", "/tmp/fds"]).out.count) ?? 0 > 0 }
        XCTAssertEqual(try swiftrun(["exec", "holder", "cat", "/tmp/fds"]).out, "/dev/null /dev/null /dev/null\n")
    }

    func testTheRelayEndsWithTheProcess() throws {
        _ = try holder()
        // A background child keeps the output pipe open; the command returns all the same.
        let start = Date()
        let r = try sh("$S exec holder sh -c 'sleep 30 & echo bg; exit 3' > o; echo rc=$?; cat o")
        XCTAssertEqual(r.out, "rc=3\nbg\n", r.err)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "exec waited for the background child")
    }

    func testInputAndOutputCarryEverything() throws {
        _ = try holder()
        // 4 MiB through stdin and back: the input must not stall the output.
        let r = try sh("head -c 4194304 /dev/zero | tr '\\0' y > big && $S exec -i holder cat < big | wc -c")
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "4194304", r.err)
        let run = try sh("$S run -i --rm --network none --no-healthcheck --entrypoint sh \(image) -c 'wc -c; echo err >&2; exit 4' < big 2>e; echo rc=$?; cat e")
        XCTAssertEqual(run.out.replacingOccurrences(of: " ", with: ""), "4194304\nrc=4\nerr\n", run.err)
    }

    /// A pipe that closes on either side ends the copy as in a shell pipeline: the user's
    /// reader gone (`| head -1`) stops the container's writer; the container's stdin closed
    /// does not kill the command.
    func testClosedPipesEndLikeAPipeline() throws {
        _ = try holder()
        let start = Date()
        var r = try sh("$S exec holder yes | head -1")
        XCTAssertEqual(r.out, "y\n", r.err)
        r = try sh("yes | $S exec -i holder head -1; echo rc=$?")
        XCTAssertEqual(r.out, "y\nrc=0\n", r.err)
        r = try sh("yes | $S run -i --rm --network none --no-healthcheck --entrypoint head \(image) -1; echo rc=$?")
        XCTAssertEqual(r.out, "y\nrc=0\n", r.err)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "each ended by itself")
        XCTAssertEqual(try swiftrun(["exec", "holder", "sh", "-c", "pgrep yes || true"]).out, "", "the container's yes ended")
    }
}
