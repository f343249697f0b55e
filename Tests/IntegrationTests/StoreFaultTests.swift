import Foundation
import XCTest
import ImageStore

/// The store is never left half-made: names no String holds come and go, refused loads leave
/// nothing, a killed load is swept by the next, and every name is a reference. The archives
/// come from Tests/Fixtures/make-archives.py.
final class StoreFaultTests: XCTestCase {
    var root = ""
    var archives = ""

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("unpacking layers with their owners needs root") }
        let tag = UUID().uuidString.prefix(8).lowercased()
        root = "/tmp/swiftrun-test-store-" + tag
        archives = "/tmp/swiftrun-test-archives-" + tag
        let r = try TestBundle.exec("/usr/bin/env", ["python3", TestBundle.packageRoot + "/Tests/Fixtures/make-archives.py", archives]
                                    + (name.contains("Killed") ? ["big"] : []))
        XCTAssertEqual(r.code, 0, r.err)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: archives)
    }

    func swiftrun(_ args: [String]) throws -> TestBundle.Result {
        let n = args.first == "image" ? 2 : 1
        return try TestBundle.exec(TestBundle.binDir + "/swiftrun", Array(args.prefix(n)) + ["--root", root] + args.dropFirst(n))
    }

    func load(_ name: String) throws -> TestBundle.Result { try swiftrun(["load", "-i", archives + "/" + name]) }

    /// Every file of the store with its size, scratch space included (names no String holds
    /// shown as `cat -v` does).
    func snapshot() throws -> [String] {
        lines(try TestBundle.exec("/bin/sh", ["-c", "find \(root) -printf '%P %s\\n' | LC_ALL=C sort | cat -v"]).out)
    }

    /// `images` as name:tag rows.
    func names() throws -> [String] {
        lines(try swiftrun(["images"]).out).dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            .map { "\($0[0]):\($0[1])" }.sorted()
    }

    /// Nothing in the store that the index does not name, and no scratch left.
    func assertConsistent(file: StaticString = #filePath, line: UInt = #line) throws {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/images.json"))) as! [String: Any]
        let images = index["images"] as! [[String: Any]]
        var blobs = Set<String>(), layers = Set<String>()
        for i in images {
            blobs.insert(ImageStore.hex(i["id"] as! String))
            for l in i["layers"] as! [[String: Any]] {
                blobs.insert(ImageStore.hex(l["blob"] as! String))
                layers.insert(ImageStore.hex(l["chainID"] as! String))
            }
            for b in i["otherBlobs"] as? [String] ?? [] { blobs.insert(ImageStore.hex(b)) }
        }
        let fm = FileManager.default
        XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: root + "/blobs/sha256")), blobs, "blobs", file: file, line: line)
        XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: root + "/layers")), layers, "layers", file: file, line: line)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root + "/tmp"), [], "scratch", file: file, line: line)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root).filter { $0.contains(".tmp.") }, [], "temp files", file: file, line: line)
    }

    func testNamesNoStringHoldsComeAndGo() throws {
        XCTAssertEqual(try load("weird-names.tar").code, 0)
        XCTAssertEqual(try load("weird-names-2.tar").code, 0)
        let rm = try swiftrun(["rmi", "weird:v1"])
        XCTAssertEqual(rm.code, 0, rm.err)
        XCTAssertTrue(rm.out.contains("Deleted: sha256:"), rm.out)
        try assertConsistent()
        XCTAssertEqual(try load("weird-names.tar").code, 0)
        let both = try swiftrun(["rmi", "-f", "weird:v1", "weird:v2"])
        XCTAssertEqual(both.code, 0, both.err)
        XCTAssertEqual(try swiftrun(["images", "-q"]).out, "")
        try assertConsistent()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/layers"), [])
    }

    func testRefusedLoadsLeaveNothingBehind() throws {
        XCTAssertEqual(try load("weird-names.tar").code, 0)
        let before = try snapshot()
        var r = try load("refused-midway.tar")
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("\"../escaped\": the path leaves the layer"), r.err)
        XCTAssertEqual(try snapshot(), before)
        r = try load("too-deep.tar")
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("longer than the kernel's PATH_MAX"), r.err)
        XCTAssertEqual(try snapshot(), before)
        try assertConsistent()
    }

    /// kill -9 at every stage of a load (spooling, unpacking the archive, hashing blobs in,
    /// unpacking the layer, naming it): the next load sweeps what it left, and never what a
    /// load in flight is still using.
    func testKilledLoadsAreSweptByTheNext() throws {
        XCTAssertEqual(try load("weird-names.tar").code, 0)
        let exe = TestBundle.binDir + "/swiftrun"
        for delayMs in [10, 40, 80, 120, 170, 230, 300, 400] {
            try TestBundle.killAfter(delayMs, exe, ["load", "--root", root, "-i", archives + "/big.tar"])
            try TestBundle.killAfter(delayMs, exe, ["load", "--root", root], input: archives + "/big.tar")
        }
        // A load in flight (its archive still being unpacked, outside the lock) is left alone
        // by the sweep of another.
        let slow = Process()
        slow.executableURL = URL(fileURLWithPath: exe)
        slow.arguments = ["load", "--root", root, "-i", archives + "/big.tar"]
        slow.standardOutput = FileHandle.nullDevice
        try slow.run()
        let r = try load("weird-names-2.tar")
        XCTAssertEqual(r.code, 0, r.err)
        slow.waitUntilExit()
        XCTAssertEqual(slow.terminationStatus, 0)
        XCTAssertTrue(try names().contains("big:v1"))
        try assertConsistent()
        // And a killed one is swept by the next rmi as well.
        XCTAssertEqual(try swiftrun(["rmi", "big:v1"]).code, 0)
        try TestBundle.killAfter(150, exe, ["load", "--root", root, "-i", archives + "/big.tar"])
        XCTAssertEqual(try swiftrun(["rmi", "weird:v2"]).code, 0)
        try assertConsistent()
    }

    /// docker-archive layers that are gzipped (Docker accepts them, diff IDs uncompressed):
    /// stored under their own digest, and their content checked against the diff ID.
    func testCompressedDockerArchiveLayers() throws {
        let r = try load("gzip-layer.tar")
        XCTAssertEqual(r.out, "Loaded image: gzipped:v1\n", r.err)
        let layer = try FileManager.default.contentsOfDirectory(atPath: root + "/layers")
        XCTAssertEqual(layer.count, 1)
        XCTAssertEqual(try String(contentsOfFile: root + "/layers/\(layer[0])/etc/hello", encoding: .utf8), "gzipped\n")
        let before = try snapshot()
        let lies = try load("gzip-layer-lies.tar")
        XCTAssertEqual(lies.code, 1)
        XCTAssertTrue(lies.err.contains("a layer must be what its diff ID names"), lies.err)
        XCTAssertEqual(try snapshot(), before)
        try assertConsistent()
    }

    func testNamesAreReferences() throws {
        XCTAssertEqual(try swiftrun(["images"]).code, 0) // the store's skeleton
        let before = try snapshot()
        for (archive, reason) in [("name-dotdot.tar", "image name \"../../../x:v1\": invalid reference format"),
                                  ("name-upper.tar", "invalid reference format: repository name (UPPER) must be lowercase"),
                                  ("name-newline.tar", "image name \"name\\nsplit:v1\": invalid reference format")] {
            let r = try load(archive)
            XCTAssertEqual(r.code, 1, archive)
            XCTAssertTrue(r.err.contains(reason), r.err)
            XCTAssertEqual(try snapshot(), before, archive)
        }
        // docker.io/library/NAME is NAME: one image, shown short, found either way.
        XCTAssertEqual(try load("name-long-form.tar").out, "Loaded image: chatbot:v1\n")
        XCTAssertEqual(try names(), ["chatbot:v1"])
        XCTAssertEqual(try swiftrun(["image", "inspect", "-f", "{{.Id}}", "docker.io/library/chatbot:v1"]).code, 0)
        for bad in ["Upper/Case", "bad tag", "../x", "x@sha256:bad"] {
            let r = try swiftrun(["tag", "chatbot:v1", bad])
            XCTAssertEqual(r.code, 1, bad)
            XCTAssertTrue(r.err.contains("Error parsing reference: \"\(bad)\" is not a valid repository/tag: invalid reference format"), r.err)
        }
        XCTAssertEqual(try swiftrun(["tag", "chatbot:v1", "docker.io/library/chatbot:v2"]).code, 0)
        XCTAssertEqual(try names(), ["chatbot:v1", "chatbot:v2"])
        let run = try swiftrun(["run", "--pull", "never", "Busy Box"])
        XCTAssertEqual(run.code, 125)
        XCTAssertEqual(run.err, "swiftrun: invalid reference format\n")
        let upper = try swiftrun(["run", "--pull", "never", "Redis"])
        XCTAssertEqual(upper.err, "swiftrun: invalid reference format: repository name (library/Redis) must be lowercase\n")
    }
}
