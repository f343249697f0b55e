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
        XCTAssertEqual(missing.code, 1)
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
        XCTAssertEqual(again.code, 1)
        XCTAssertTrue(again.err.contains("no such image: myapp"), again.err)
    }

    /// `images` as Docker's: untagged images listed as <none> (an OCI layout that names only
    /// a tag, as skopeo and umoci write), CREATED as an age, filters, and --format templates
    /// over Docker's fields.
    func testImagesListsAsDocker() throws {
        try load("busybox-docker.tar")
        let oci = root + "-bare-tag"
        defer { try? FileManager.default.removeItem(atPath: oci) }
        let copy = try TestBundle.exec("/usr/bin/skopeo", ["copy", "-q", "docker-archive:" + TestBundle.packageRoot + "/Sysroot/out/busybox-docker.tar",
                                                          "oci:" + oci + ":latest"])
        XCTAssertEqual(copy.code, 0, copy.err)
        XCTAssertTrue(try swiftrun(["load", "-i", oci]).out.hasPrefix("Loaded image ID: sha256:"))
        let rows = lines(try swiftrun(["images"]).out).map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        XCTAssertEqual(rows.first, ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"])
        XCTAssertTrue(rows.contains { $0.prefix(2) == ["<none>", "<none>"] }, "\(rows)")
        XCTAssertTrue(rows.dropFirst().allSatisfy { $0.contains("ago") }, "CREATED is an age: \(rows)")
        XCTAssertEqual(lines(try swiftrun(["images", "--filter", "dangling=true", "--format", "{{.Repository}}:{{.Tag}}"]).out), ["<none>:<none>"])
        XCTAssertEqual(lines(try swiftrun(["images", "--filter", "reference=swiftrun.test/*", "--format", "{{.Repository}}:{{.Tag}}"]).out),
                       [image])
        // label=, before=, since=: two images made one after the other, labelled apart.
        let tree = root + "-tree"
        defer { try? FileManager.default.removeItem(atPath: tree); try? FileManager.default.removeItem(atPath: tree + ".tar") }
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try "x\n".write(toFile: tree + "/file", atomically: true, encoding: .utf8)
        XCTAssertEqual(try TestBundle.exec("/usr/bin/tar", ["-cf", tree + ".tar", "-C", tree, "."]).code, 0)
        XCTAssertEqual(try swiftrun(["import", "-c", "LABEL tier=web", tree + ".tar", "first:v1"]).code, 0)
        XCTAssertEqual(try swiftrun(["import", "-c", "LABEL tier=db", "-c", "LABEL extra=1", tree + ".tar", "second:v1"]).code, 0)
        func names(_ f: String) throws -> [String] { lines(try swiftrun(["images", "--filter", f, "--format", "{{.Repository}}"]).out) }
        XCTAssertEqual(try names("label=tier=web"), ["first"])
        XCTAssertEqual(try names("label=extra"), ["second"])
        XCTAssertEqual(try names("since=first:v1"), ["second"])
        XCTAssertFalse(try names("before=second:v1").contains("second"))
        XCTAssertTrue(try names("before=second:v1").contains("first"))
        XCTAssertEqual(try swiftrun(["images", "--filter", "color=red"]).code, 1)
        let json = try JSONSerialization.jsonObject(with: Data(lines(try swiftrun(["images", "--format", "json"]).out)[0].utf8)) as! [String: Any]
        XCTAssertEqual(Set(json.keys), ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size",
                                        "Tag", "UniqueSize", "VirtualSize"])
        let bogus = try swiftrun(["images", "--format", "{{.Bogus}}"])
        XCTAssertEqual(bogus.code, 1)
        XCTAssertTrue(bogus.err.contains("can't evaluate field Bogus"), bogus.err)
        let bad = try swiftrun(["images", "--format", "{{range}}"])
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.err.contains("template:"), bad.err)
    }
}
