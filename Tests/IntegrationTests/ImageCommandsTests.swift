import Foundation
import XCTest

/// image inspect, tag, rmi: Docker's shapes and words, and rmi frees what nothing else uses.
final class ImageCommandsTests: XCTestCase {
    var root = ""
    let image = "swiftrun.test/busybox-httpd:v1"

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("unpacking layers needs root") }
        root = "/tmp/swiftrun-test-img-" + UUID().uuidString.prefix(8).lowercased()
    }

    override func tearDown() {
        if !root.isEmpty { try? FileManager.default.removeItem(atPath: root) }
    }

    func swiftrun(_ args: [String]) throws -> TestBundle.Result {
        let at = args.first == "image" ? 2 : 1
        return try TestBundle.exec(TestBundle.binDir + "/swiftrun", Array(args[..<at]) + ["--root", root] + args[at...])
    }

    func load(_ file: String) throws {
        let r = try swiftrun(["load", "-i", TestBundle.packageRoot + "/Sysroot/out/" + file])
        XCTAssertEqual(r.code, 0, r.err)
    }

    func testInspectShowsTheWholeConfig() throws {
        try load("busybox-oci.tar")
        let r = try swiftrun(["image", "inspect", image])
        XCTAssertEqual(r.code, 0, r.err)
        let arr = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [[String: Any]]
        let i = arr[0]
        XCTAssertEqual(i["RepoTags"] as? [String], [image])
        XCTAssertEqual(i["Os"] as? String, "linux")
        XCTAssertEqual(i["Architecture"] as? String, "amd64")
        let config = i["Config"] as! [String: Any]
        XCTAssertEqual(config["User"] as? String, "appuser")
        let hc = config["Healthcheck"] as! [String: Any]
        XCTAssertEqual(hc["Test"] as? [String], ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1"])
        XCTAssertEqual(hc["Interval"] as? Int, 2_000_000_000, "durations in nanoseconds, as Docker")
        XCTAssertEqual(hc["StartInterval"] as? Int, 500_000_000)
        XCTAssertEqual(hc["Retries"] as? Int, 3)
        let rootfs = i["RootFS"] as! [String: Any]
        XCTAssertEqual(rootfs["Type"] as? String, "layers")
        XCTAssertEqual((rootfs["Layers"] as? [String])?.count, 2)
        let missing = try swiftrun(["image", "inspect", "nope"])
        XCTAssertEqual(missing.code, 125)
        XCTAssertTrue(missing.err.contains("no such image: nope"), missing.err)
    }

    func testTagAndRmiFreeEverything() throws {
        try load("busybox-oci.tar")
        try load("busybox-docker.tar") // the same image again, with plain layer blobs
        XCTAssertEqual(try swiftrun(["tag", image, "myapp"]).code, 0)
        let list = try swiftrun(["images"])
        XCTAssertTrue(list.out.contains("myapp                         latest"), list.out)
        // By ID prefix too.
        let id = try XCTUnwrap(lines(list.out).last?.split(separator: " ", omittingEmptySubsequences: true)[2])
        XCTAssertEqual(try swiftrun(["image", "inspect", String(id)]).code, 0)

        let untag = try swiftrun(["rmi", image])
        XCTAssertEqual(untag.out, "Untagged: \(image)\n", "another name remains: only untagged")
        let gone = try swiftrun(["rmi", "myapp"])
        XCTAssertTrue(gone.out.hasPrefix("Untagged: myapp:latest\n"), gone.out)
        XCTAssertTrue(gone.out.contains("Deleted: sha256:"), gone.out)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256"), [], "every blob freed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/layers"), [], "every layer freed")
        let again = try swiftrun(["rmi", "myapp"])
        XCTAssertEqual(again.code, 125)
        XCTAssertTrue(again.err.contains("no such image: myapp"), again.err)
    }
}
