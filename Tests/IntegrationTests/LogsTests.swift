import Foundation
import XCTest

/// `logs -f` loses nothing when the log rotates under it (Docker's own -f dies there).
final class LogsTests: EngineTestCase {
    func follow(_ id: String) throws -> (bytes: Int, tail: String) {
        let out = root + "-follow"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try TestBundle.exec("/bin/sh", ["-c", "\(TestBundle.binDir)/swiftrun logs --root \(root) -f \(id) > \(out)"])
        XCTAssertEqual(r.code, 0, r.err)
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        return (data.count, String(decoding: data.suffix(4), as: UTF8.self))
    }

    func testFollowSurvivesRotation() throws {
        // The case: 2 MiB of "y\n" is ~70 MiB of json-file entries, three rotations
        // at the default 20 MiB, written faster than a follower polls.
        var id = try runDetached(["--network", "none", "--no-healthcheck", "--entrypoint", "sh", image, "-c",
                                  "sleep 1; yes | head -c 2097152; echo END"])
        var got = try follow(id)
        XCTAssertEqual(got.bytes, 2_097_156)
        XCTAssertEqual(got.tail, "END\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/containers/\(id)").filter { $0.contains("-json.log.") }.count, 3)
        try swiftrun(["rm", id])
        // Many small files: a rotation every few ms.
        id = try runDetached(["--network", "none", "--no-healthcheck", "--log-opt", "max-size=64k", "--log-opt", "max-file=200",
                              "--entrypoint", "sh", image, "-c", "sleep 1; head -c 4194304 /dev/zero | tr '\\0' y | fold -w 1023; echo END"])
        got = try follow(id)
        XCTAssertEqual(got.bytes, 4_194_304 + 4100 + 4, "4,100 folds and END")
        XCTAssertEqual(try TestBundle.exec("/bin/sh", ["-c", "\(TestBundle.binDir)/swiftrun logs --root \(root) \(id) | wc -c"]).out.trimmingCharacters(in: .whitespacesAndNewlines), "4198408", "all of it kept")
        XCTAssertEqual(got.tail, "END\n")
        try swiftrun(["rm", id])
    }
}
