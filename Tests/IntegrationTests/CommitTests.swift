import Foundation
import XCTest

/// diff, commit, export, import and cp: a container's changes, seen, kept as an image,
/// archived and brought back; files copied in and out.
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

    /// export | import, as Docker users move a file system: from a file with --change and
    /// -m, from standard input, from a URL, bzip2; a broken archive changes nothing.
    func testImportFromFileStdinAndURL() throws {
        _ = try runDetached(["--name", "src", "--user", "root", "--network", "none", "--entrypoint", "sh", image, "-c",
                             "echo carried > /carried.txt; sleep 300"])
        waitUntil(10, "the file") { (try? swiftrun(["exec", "src", "test", "-f", "/carried.txt"]).code) == 0 }
        let dir = root + "-import"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(try swiftrun(["export", "-o", dir + "/fs.tar", "src"]).code, 0)

        let imp = try swiftrun(["import", "-m", "from export", "-c", "ENV MODE=imported", "-c", "CMD [\"sh\", \"-c\", \"echo $MODE; cat /carried.txt\"]",
                                dir + "/fs.tar", "moved:v1"])
        XCTAssertEqual(imp.code, 0, imp.err)
        XCTAssertTrue(imp.out.hasPrefix("sha256:"), imp.out)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--network", "none", "moved:v1"]).out, "imported\ncarried\n")
        XCTAssertTrue(try swiftrun(["history", "moved:v1"]).out.contains("from export"))
        let cfg = try swiftrun(["image", "inspect", "--format", "{{json .Config.Env}} {{len .RootFS.Layers}}", "moved:v1"])
        XCTAssertEqual(cfg.out, "[\"MODE=imported\"] 1\n", cfg.err)

        let piped = try TestBundle.exec("/bin/sh", ["-c", "cat \(dir)/fs.tar | \(TestBundle.binDir)/swiftrun import --root \(root) - piped:v1"])
        XCTAssertEqual(piped.code, 0, piped.err)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--network", "none", "piped:v1", "cat", "/carried.txt"]).out, "carried\n")

        XCTAssertEqual(try TestBundle.exec("/usr/bin/bzip2", ["-k", dir + "/fs.tar"]).code, 0)
        let base = try serveFiles(dir)
        let url = try swiftrun(["import", base + "/fs.tar.bz2", "fromurl:v1"])
        XCTAssertEqual(url.code, 0, url.err)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--network", "none", "fromurl:v1", "cat", "/carried.txt"]).out, "carried\n")
        XCTAssertTrue(try swiftrun(["history", "fromurl:v1"]).out.contains("Imported from " + base), "Docker's comment")
        XCTAssertEqual(try swiftrun(["save", "-o", dir + "/out.tar", "fromurl:v1"]).code, 0, "a bzip2 import is stored as a tar a manifest can name")

        // Refused with what failed; the store is as it was.
        let before = try storeListing()
        try Data("not a tar at all".utf8).write(to: URL(fileURLWithPath: dir + "/bad.tar"))
        let bad = try swiftrun(["import", dir + "/bad.tar", "bad:v1"])
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.err.contains("importing \(dir)/bad.tar") && bad.err.contains("not a tar archive"), bad.err)
        let missing = try swiftrun(["import", base + "/nope.tar", "bad:v1"])
        XCTAssertEqual(missing.code, 1)
        XCTAssertTrue(missing.err.contains("404"), missing.err)
        XCTAssertEqual(try storeListing(), before, "nothing added or left in the store")
        XCTAssertEqual(try swiftrun(["images", "-q", "bad"]).out, "")
    }

    /// Every file of the store (blobs, layers, tmp) by path: what a refused command must not change.
    func storeListing() throws -> [String] {
        let fm = FileManager.default
        return ["blobs/sha256", "layers", "tmp"].flatMap { d in ((try? fm.contentsOfDirectory(atPath: root + "/" + d)) ?? []).map { d + "/" + $0 } }.sorted()
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
        // -a keeps the source's owners (else the caller's: root); -L copies what a link names,
        // resolved in the container's root (an absolute target is the container's path).
        XCTAssertEqual(try swiftrun(["exec", "cp1", "sh", "-c", "echo mine > /tmp/owned; chown 1234:5678 /tmp/owned; ln -s /tmp/d/f /tmp/lnk"]).code, 0)
        XCTAssertEqual(try swiftrun(["cp", "cp1:/tmp/owned", host + "/plain"]).code, 0)
        XCTAssertEqual(try swiftrun(["cp", "-a", "cp1:/tmp/owned", host + "/kept"]).code, 0)
        let plain = try FileManager.default.attributesOfItem(atPath: host + "/plain"), kept = try FileManager.default.attributesOfItem(atPath: host + "/kept")
        XCTAssertEqual(plain[.ownerAccountID] as? Int, 0)
        XCTAssertEqual(kept[.ownerAccountID] as? Int, 1234)
        XCTAssertEqual(kept[.groupOwnerAccountID] as? Int, 5678)
        XCTAssertEqual(try swiftrun(["cp", "-L", "cp1:/tmp/lnk", host]).code, 0)
        XCTAssertEqual(try String(contentsOfFile: host + "/lnk", encoding: .utf8), "inner\n", "the link's target, under the link's name")
        XCTAssertEqual(try swiftrun(["cp", "cp1:/tmp/lnk", host + "/asis"]).code, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: host + "/asis"), "/tmp/d/f", "without -L: the link itself")
        XCTAssertEqual(try swiftrun(["stop", "-t", "0", "cp1"]).code, 0)
        XCTAssertEqual(try swiftrun(["cp", "cp1:/tmp/in.txt", host + "/back.txt"]).code, 0, "a stopped container too")
        XCTAssertEqual(try String(contentsOfFile: host + "/back.txt", encoding: .utf8), "from-host\n")
    }
}
