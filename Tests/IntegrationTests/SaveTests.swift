import Foundation
import XCTest

/// `save`: a tar that `load` (ours, Docker's) and OCI tools read back.
final class SaveTests: EngineTestCase {
    func testSaveLoadRoundTripAndOCITools() throws {
        let id = try swiftrun(["image", "inspect", "-f", "{{.Id}}", image]).out
        try swiftrun(["tag", image, "my/app:2"])
        let out = root + "-save.tar"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: out) }
        let s = try swiftrun(["save", "-o", out, image, "my/app:2"])
        XCTAssertEqual(s.code, 0, s.err)
        let list = try TestBundle.exec("/bin/tar", ["-tf", out]).out.split(separator: "\n")
        for f in ["oci-layout", "index.json", "manifest.json", "repositories"] { XCTAssertTrue(list.contains(Substring(f)), "\(f) in \(list)") }
        XCTAssertEqual(try swiftrun(["rmi", image, "my/app:2"]).code, 0)
        let l = try swiftrun(["load", "-i", out])
        XCTAssertEqual(l.out, "Loaded image: \(image)\nLoaded image: my/app:2\n", l.err)
        XCTAssertEqual(try swiftrun(["image", "inspect", "-f", "{{.Id}}", "my/app:2"]).out, id, "the same image back")
        let run = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "--entrypoint", "true", "my/app:2"])
        XCTAssertEqual(run.code, 0, run.err)
        if FileManager.default.fileExists(atPath: "/usr/bin/skopeo") {
            let sk = try TestBundle.exec("/usr/bin/skopeo", ["inspect", "--raw", "oci-archive:\(out):2"])
            XCTAssertEqual(sk.code, 0, sk.err)
            XCTAssertTrue(sk.out.contains(id.trimmingCharacters(in: .whitespacesAndNewlines)), "skopeo reads the OCI side: \(sk.out)")
        }
    }

    func testSaveOfAMissingImageWritesNothing() throws {
        let out = root + "-missing.tar"
        let r = try swiftrun(["save", "-o", out, "no/such:image"])
        XCTAssertEqual(r.code, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let dir = (out as NSString).deletingLastPathComponent
        let parts = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix((out as NSString).lastPathComponent) }
        XCTAssertEqual(parts, [], "no partial file")
    }

    /// `-o` naming a pipe or device (`-o /dev/null`) writes into it: renaming a file over it
    /// would replace the host's /dev/null. A fifo of the test's own stands in for it.
    func testOutputToAPipeWritesIntoIt() throws {
        let fifo = root + "-fifo", got = root + "-fifo.out"
        defer { unlink(fifo); unlink(got) }
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/cat")
        reader.arguments = [fifo]
        FileManager.default.createFile(atPath: got, contents: nil)
        reader.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: got))
        try reader.run()
        let r = try swiftrun(["save", "-o", fifo, image])
        XCTAssertEqual(r.code, 0, r.err)
        var st = stat()
        XCTAssertEqual(lstat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO, "still a pipe")
        // Replaced by a file, the pipe would never get a writer: the reader (ours) is stopped.
        if st.st_mode & S_IFMT != S_IFIFO { reader.terminate() }
        reader.waitUntilExit()
        XCTAssertTrue(try TestBundle.exec("/usr/bin/tar", ["-tf", got]).out.contains("index.json"), "the archive went through it")
    }
}
