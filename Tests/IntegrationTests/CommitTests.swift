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
}
