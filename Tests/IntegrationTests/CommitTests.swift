import Foundation
import XCTest

/// diff, commit and export: a container's changes, seen, kept as an image, and archived.
final class CommitTests: EngineTestCase {
    func testDiffCommitAndExport() throws {
        let id = try runDetached(["--name", "cc", "--user", "root", "--network", "none", "--entrypoint", "sh", image, "-c",
                                  "echo new > /added.txt; rm /www/index.html; mkdir -p /var/data && echo d > /var/data/f; sleep 300"])
        waitUntil(10, "the changes") { (try? swiftrun(["diff", "cc"]).out.contains("/var/data/f")) ?? false }
        let diff = try swiftrun(["diff", "cc"])
        XCTAssertEqual(diff.code, 0, diff.err)
        let lines = diff.out.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("A /added.txt") && lines.contains("D /www/index.html") && lines.contains("C /www"), diff.out)
        XCTAssertTrue(lines.contains("A /var/data/f"), diff.out)
        XCTAssertFalse(diff.out.contains("/etc/hosts") || diff.out.contains("/etc/resolv.conf"), "the engine's bind stubs are not changes: \(diff.out)")

        let c = try swiftrun(["commit", "-m", "snapshot", "-c", "ENV MODE=committed", "-c", "ENTRYPOINT [\"cat\"]", "-c", "CMD [\"/added.txt\"]", "cc", "snap:v1"])
        XCTAssertEqual(c.code, 0, c.err)
        XCTAssertTrue(c.out.hasPrefix("sha256:"), c.out)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--network", "none", "snap:v1"]).out, "new\n")
        let look = try swiftrun(["run", "--rm", "--network", "none", "--entrypoint", "sh", "snap:v1", "-c", "echo $MODE; ls /www; cat /var/data/f; test -s /etc/hosts || echo stub"])
        XCTAssertEqual(look.out, "committed\nhealth\nd\n", look.err)
        XCTAssertTrue(try swiftrun(["history", "snap:v1"]).out.contains("snapshot"))
        XCTAssertTrue(try inspect(id)["State"].map { ($0 as? [String: Any])?["Running"] as? Bool } == true, "unpaused after the commit")

        let tar = root + "-export.tar"
        defer { try? FileManager.default.removeItem(atPath: tar) }
        XCTAssertEqual(try swiftrun(["export", "-o", tar, "cc"]).code, 0)
        let list = try TestBundle.exec("/usr/bin/tar", ["-tf", tar])
        XCTAssertTrue(list.out.contains("added.txt") && list.out.contains("bin/busybox"), "the merged file system")
        XCTAssertFalse(list.out.contains("www/index.html"), "deleted files are gone from it")
    }

    func testCpBothWaysNeverFollowingTheContainersLinks() throws {
        _ = try runDetached(["--name", "cp1", "--user", "root", "--network", "none", "--entrypoint", "sh", image, "-c",
                             "ln -s /etc/shadow /tmp/evil; mkdir -p /tmp/d && echo inner > /tmp/d/f; sleep 300"])
        waitUntil(10, "the link") { (try? swiftrun(["exec", "cp1", "test", "-L", "/tmp/evil"]).code) == 0 }
        let host = root + "-cp"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: host) }
        try "from-host\n".write(toFile: host + "/in.txt", atomically: true, encoding: .utf8)

        XCTAssertEqual(try swiftrun(["cp", host + "/in.txt", "cp1:/tmp/"]).code, 0)
        XCTAssertEqual(try swiftrun(["exec", "cp1", "cat", "/tmp/in.txt"]).out, "from-host\n")
        XCTAssertEqual(try swiftrun(["cp", "cp1:/tmp/d", host]).code, 0)
        XCTAssertEqual(try String(contentsOfFile: host + "/d/f", encoding: .utf8), "inner\n", "a directory into an existing one")
        XCTAssertEqual(try swiftrun(["cp", "cp1:/tmp/evil", host + "/evil"]).code, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: host + "/evil"), "/etc/shadow",
                       "the container's link is copied as a link: the host's /etc/shadow is not read")
        let missing = try swiftrun(["cp", "cp1:/nope", host])
        XCTAssertEqual(missing.code, 1)
        XCTAssertTrue(missing.err.contains("Could not find the file /nope"), missing.err)
        XCTAssertEqual(try swiftrun(["stop", "-t", "0", "cp1"]).code, 0)
        XCTAssertEqual(try swiftrun(["cp", "cp1:/tmp/in.txt", host + "/back.txt"]).code, 0, "a stopped container too")
        XCTAssertEqual(try String(contentsOfFile: host + "/back.txt", encoding: .utf8), "from-host\n")
    }
}
