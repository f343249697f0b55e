import Foundation
import XCTest
import ImageImport
import ImageStore

/// `swiftrun load`: docker save archives, OCI archives and OCI directories from Sysroot;
/// broken inputs fail with a clear error and leave the store exactly as it was.
final class ImageLoadTests: XCTestCase {
    var root = ""
    var images: String { TestBundle.packageRoot + "/Sysroot/out" }

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("unpacking layers with their owners needs root") }
        guard FileManager.default.fileExists(atPath: images + "/busybox-docker.tar") else {
            XCTFail("run `make test` (it builds the Sysroot images)")
            throw XCTSkip("not set up")
        }
        root = "/tmp/swiftrun-test-store-" + UUID().uuidString.prefix(8).lowercased()
    }

    override func tearDown() {
        if !root.isEmpty { try? FileManager.default.removeItem(atPath: root) }
    }

    func swiftrun(_ args: [String]) throws -> TestBundle.Result {
        try TestBundle.exec(TestBundle.binDir + "/swiftrun", args)
    }

    /// Everything in the store but scratch space, with sizes: what "unchanged" means.
    func snapshot() throws -> [String] {
        guard FileManager.default.fileExists(atPath: root) else { return [] }
        let r = try TestBundle.exec("/usr/bin/find", [root, "-path", root + "/tmp", "-prune", "-o", "-printf", "%P %s\n"])
        return r.out.split(separator: "\n").map(String.init).sorted()
    }

    func testEveryFormatLoadsTheSameImage() throws {
        var ids: Set<String> = []
        for input in ["busybox-docker.tar", "busybox-oci.tar", "busybox-oci"] {
            let r = try swiftrun(["load", "--root", root, "-i", images + "/" + input])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertEqual(r.out, "Loaded image: swiftrun.test/busybox-httpd:v1\n", input)
            let store = try ImageStore(root: root)
            let imgs = try store.images()
            XCTAssertEqual(imgs.count, 1)
            ids.insert(imgs[0].id)
            for l in imgs[0].layers {
                XCTAssertTrue(FileManager.default.fileExists(atPath: store.layerPath(l.chainID)), "layer \(l.chainID) unpacked")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: store.layerPath(imgs[0].layers[1].chainID) + "/www/health"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: store.layerPath(imgs[0].layers[0].chainID) + "/bin/busybox"))
        }
        XCTAssertEqual(ids.count, 1, "one image whichever way it came")
        // SIZE is the files unpacked, whichever way it came: gzipped OCI layers or plain tars.
        var sizes: Set<String> = []
        for input in ["busybox-docker.tar", "busybox-oci.tar"] {
            let own = root + "-size-" + input
            defer { try? FileManager.default.removeItem(atPath: own) }
            XCTAssertEqual(try swiftrun(["load", "--root", own, "-i", images + "/" + input]).code, 0)
            sizes.insert(try swiftrun(["images", "--root", own, "--format", "{{.Size}}"]).out)
        }
        XCTAssertEqual(sizes.count, 1, "\(sizes)")
        let before = try snapshot()
        XCTAssertEqual(try swiftrun(["load", "--root", root, "-i", images + "/busybox-docker.tar"]).code, 0)
        XCTAssertEqual(try snapshot(), before, "loading again changes nothing")
        let list = try swiftrun(["images", "--root", root])
        XCTAssertTrue(list.out.contains("swiftrun.test/busybox-httpd   v1    \(ids.first!.dropFirst(7).prefix(12))"), list.out)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [], "no scratch left")
    }

    func testLoadFromStandardInput() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\(TestBundle.binDir)/swiftrun load --root \(root) < \(images)/busybox-oci.tar"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                       "Loaded image: swiftrun.test/busybox-httpd:v1\n")
    }

    /// A corpus of broken inputs: each fails with its error, exit 1, and the store unchanged.
    func testBrokenInputsLeaveTheStoreUnchanged() throws {
        XCTAssertEqual(try swiftrun(["load", "--root", root, "-i", images + "/busybox-docker.tar"]).code, 0)
        let scratch = root + "-inputs"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let fm = FileManager.default

        // An OCI layout copy whose pieces we break one by one.
        func layout(_ name: String, _ breakIt: (String, [String: Any]) throws -> Void) throws -> String {
            let d = scratch + "/" + name
            try fm.copyItem(atPath: images + "/busybox-oci", toPath: d)
            let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: d + "/index.json"))) as! [String: Any]
            try breakIt(d, index)
            return d
        }
        func manifestPath(_ d: String, _ index: [String: Any]) -> String {
            let m = (index["manifests"] as! [[String: Any]])[0]["digest"] as! String
            return d + "/blobs/sha256/" + m.dropFirst(7)
        }
        func layerPaths(_ d: String, _ index: [String: Any]) throws -> [String] {
            let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath(d, index)))) as! [String: Any]
            return (m["layers"] as! [[String: Any]]).map { d + "/blobs/sha256/" + ($0["digest"] as! String).dropFirst(7) }
        }

        let truncated = scratch + "/truncated.tar"
        let whole = try Data(contentsOf: URL(fileURLWithPath: images + "/busybox-docker.tar"))
        try whole.prefix(whole.count / 3).write(to: URL(fileURLWithPath: truncated))
        let empty = scratch + "/empty.tar"
        touch(empty)
        let notImage = scratch + "/not-an-image"
        try fm.createDirectory(atPath: notImage, withIntermediateDirectories: true)

        let cases: [(String, String)] = [
            (truncated, "not a valid image archive"),
            (empty, "is empty"),
            (notImage, "neither a docker save archive"),
            (scratch + "/missing.tar", "ENOENT"),
            (try layout("wrong-digest") { d, i in
                let l = try layerPaths(d, i)[1]
                var data = try Data(contentsOf: URL(fileURLWithPath: l))
                data[data.count / 2] ^= 0xff
                try data.write(to: URL(fileURLWithPath: l))
            }, "does not match its digest"),
            (try layout("missing-blob") { d, i in try fm.removeItem(atPath: try layerPaths(d, i)[0]) }, "ENOENT"),
            (try layout("manifest-nowhere") { d, i in try fm.removeItem(atPath: manifestPath(d, i)) }, "ENOENT"),
            (try layout("malformed-json") { d, _ in try "{\"schemaVersion\": 2, \"manifests\": [".write(toFile: d + "/index.json", atomically: false, encoding: .utf8) }, "malformed JSON"),
            (try layout("bad-digest-string") { d, _ in
                try #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../etc/passwd","size":1}]}"#
                    .write(toFile: d + "/index.json", atomically: false, encoding: .utf8)
            }, "not a sha256 digest"),
        ]
        let before = try snapshot()
        for (input, expected) in cases {
            let r = try swiftrun(["load", "--root", root, "-i", input])
            XCTAssertEqual(r.code, 1, "\(input): \(r.err)")
            XCTAssertTrue(r.err.contains(expected), "\(input): \(r.err)")
            XCTAssertEqual(try snapshot(), before, "\(input) changed the store")
        }
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root + "/tmp"), [], "no scratch left")
    }

    /// Layer poisoning: every digest in the layout is right, but a layer's content is not what
    /// the config's diff ID names. Stored under that chain ID it would stand in for the
    /// genuine layer in every later image. The load is refused and nothing is kept.
    func testLayerWhoseContentIsNotItsDiffIDIsRefused() throws {
        let fm = FileManager.default
        let evil = root + "-evil"
        defer { try? fm.removeItem(atPath: evil) }
        try fm.copyItem(atPath: images + "/busybox-oci", toPath: evil)
        func json(_ p: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: p))) as! [String: Any]
        }
        func put(_ data: Data) throws -> (String, Int) {
            let d = ImageStore.digest(Array(data))
            try data.write(to: URL(fileURLWithPath: evil + "/blobs/sha256/" + d.dropFirst(7)))
            return (d, data.count)
        }
        // A different layer: a tar.gz with a planted file, made by tar itself.
        let planted = evil + "-src"
        try fm.createDirectory(atPath: planted + "/www", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: planted) }
        try "pwned\n".write(toFile: planted + "/www/index.html", atomically: false, encoding: .utf8)
        XCTAssertEqual(try TestBundle.exec("/bin/tar", ["-C", planted, "-czf", evil + "/layer.tgz", "www"]).code, 0)
        let (layerDigest, layerSize) = try put(try Data(contentsOf: URL(fileURLWithPath: evil + "/layer.tgz")))
        var index = try json(evil + "/index.json")
        var manifests = index["manifests"] as! [[String: Any]]
        var manifest = try json(evil + "/blobs/sha256/" + (manifests[0]["digest"] as! String).dropFirst(7))
        var layers = manifest["layers"] as! [[String: Any]]
        layers[1]["digest"] = layerDigest
        layers[1]["size"] = layerSize
        manifest["layers"] = layers
        let (mDigest, mSize) = try put(try JSONSerialization.data(withJSONObject: manifest))
        manifests[0]["digest"] = mDigest
        manifests[0]["size"] = mSize
        index["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: evil + "/index.json"))

        _ = try ImageStore(root: root) // an empty store: the poisoned image comes first
        let before = try snapshot()
        let r = try swiftrun(["load", "--root", root, "-i", evil])
        XCTAssertEqual(r.code, 1, r.err)
        XCTAssertTrue(r.err.contains("the image config claims"), r.err)
        XCTAssertEqual(try snapshot(), before, "nothing of the poisoned image is kept")
        // The genuine image still loads, with its own content.
        XCTAssertEqual(try swiftrun(["load", "--root", root, "-i", images + "/busybox-oci"]).code, 0)
        let store = try ImageStore(root: root)
        let top = try XCTUnwrap(store.images().first?.layers.last)
        XCTAssertEqual(try String(contentsOfFile: store.layerPath(top.chainID) + "/www/index.html", encoding: .utf8),
                       "<h1>hello from swiftrun</h1>\n")
    }

    /// Two loads of the same image at once both succeed (the store lock serialises them).
    func testConcurrentLoadsBothSucceed() throws {
        let procs: [Process] = try ["busybox-docker.tar", "busybox-oci.tar", "busybox-docker.tar"].map { file in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestBundle.binDir + "/swiftrun")
            p.arguments = ["load", "--root", root, "-i", images + "/" + file]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
        for p in procs { p.waitUntilExit(); XCTAssertEqual(p.terminationStatus, 0) }
        let store = try ImageStore(root: root)
        XCTAssertEqual(try store.images().count, 1)
        XCTAssertEqual(try store.images()[0].names, ["swiftrun.test/busybox-httpd:v1"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [])
    }

    /// The manifest and config decoders, fuzzed: 300 mutations (byte flips, cuts, inserted
    /// JSON) of index.json, the manifest and the config, each re-addressed so the digest
    /// checks pass and the decoder sees it. Each load succeeds or fails with a message,
    /// and a failed one leaves the store as it was.
    func testFuzzedManifestsAndConfigs() throws {
        let fm = FileManager.default
        let layout = root + "-layout"
        defer { try? fm.removeItem(atPath: layout); try? fm.removeItem(atPath: root) }
        let store = try ImageStore(root: root)
        _ = try Loader.load(images + "/busybox-oci", into: store) // the layers are there: mutations need no unpack
        let baseline = try store.images().map(\.id)
        let index = try Data(contentsOf: URL(fileURLWithPath: images + "/busybox-oci/index.json"))
        let indexJSON = try JSONSerialization.jsonObject(with: index) as! [String: Any]
        let mdesc = (indexJSON["manifests"] as! [[String: Any]])[0]
        let mdigest = mdesc["digest"] as! String
        let manifest = try Data(contentsOf: URL(fileURLWithPath: images + "/busybox-oci/blobs/sha256/" + mdigest.dropFirst(7)))
        let mJSON = try JSONSerialization.jsonObject(with: manifest) as! [String: Any]
        let cdigest = (mJSON["config"] as! [String: Any])["digest"] as! String
        let config = try Data(contentsOf: URL(fileURLWithPath: images + "/busybox-oci/blobs/sha256/" + cdigest.dropFirst(7)))
        var rng = SplitMix(seed: 7)
        let junk = ["null", "[]", "{}", "\"x\"", "-1", "1e309", "true", "\"sha256:\"", "[{}]", "\"../../etc\""]
        func mutate(_ d: Data) -> Data {
            var b = [UInt8](d)
            switch rng.next() % 3 {
            case 0: for _ in 0..<(1 + rng.next() % 3) { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8)) }
            case 1: b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            default:
                // A value replaced by other JSON: find a ':' and put junk after it.
                let colons = b.indices.filter { b[$0] == UInt8(ascii: ":") }
                if let c = colons.isEmpty ? nil : colons[Int(rng.next() % UInt64(colons.count))] {
                    let end = b[(c + 1)...].firstIndex { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") } ?? b.count
                    b.replaceSubrange((c + 1)..<end, with: Array(junk[Int(rng.next() % UInt64(junk.count))].utf8))
                }
            }
            return Data(b)
        }
        func digest(_ d: Data) -> String { ImageStore.digest([UInt8](d)) }
        var failures = 0
        for i in 0..<300 {
            try? fm.removeItem(atPath: layout)
            try fm.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
            try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: layout + "/oci-layout", atomically: false, encoding: .utf8)
            var (idx, man, cfg) = (index, manifest, config)
            switch i % 3 {
            case 0: idx = mutate(index)
            case 1: man = mutate(manifest)
            default: cfg = mutate(config)
            }
            // Re-address what changed, so the decoder, not the digest check, meets it.
            let c = digest(cfg), m0 = String(decoding: man, as: UTF8.self).replacingOccurrences(of: cdigest, with: c)
                .replacingOccurrences(of: "\"size\":\(config.count)", with: "\"size\":\(cfg.count)")
            man = Data(m0.utf8)
            let m = digest(man)
            idx = Data(String(decoding: idx, as: UTF8.self).replacingOccurrences(of: mdigest, with: m)
                .replacingOccurrences(of: "\"size\": \(manifest.count)", with: "\"size\": \(man.count)").utf8)
            try idx.write(to: URL(fileURLWithPath: layout + "/index.json"))
            try man.write(to: URL(fileURLWithPath: layout + "/blobs/sha256/" + m.dropFirst(7)))
            try cfg.write(to: URL(fileURLWithPath: layout + "/blobs/sha256/" + c.dropFirst(7)))
            for l in (mJSON["layers"] as! [[String: Any]]) {
                let d = (l["digest"] as! String).dropFirst(7)
                try? fm.linkItem(atPath: images + "/busybox-oci/blobs/sha256/" + d, toPath: layout + "/blobs/sha256/" + d)
            }
            let blobsBefore = Set(try fm.contentsOfDirectory(atPath: root + "/blobs/sha256"))
            do {
                _ = try Loader.load(layout, into: store)
                for img in try store.images() where !baseline.contains(img.id) { _ = try store.remove(img.id) }
            } catch {
                failures += 1
                XCTAssertFalse("\(error)".isEmpty, "mutation \(i): an error with a message")
                XCTAssertEqual(try store.images().map(\.id), baseline, "mutation \(i): a failed load changed the images")
                XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: root + "/blobs/sha256")), blobsBefore, "mutation \(i): a failed load left blobs")
            }
        }
        XCTAssertGreaterThan(failures, 100, "most mutations are refused")
    }
}

/// A small deterministic generator (SplitMix64) for the fuzz tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
