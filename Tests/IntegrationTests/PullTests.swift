import Foundation
import XCTest

/// `pull`, `login`, `run --pull`: against a registry on 127.0.0.1 (Tests/Fixtures/registry.py)
/// serving the test image as an index with two platforms.
final class PullTests: EngineTestCase {
    var port = 0
    var registryLog = ""

    /// Starts the registry with `options`; it is killed (by pid) at teardown.
    func startRegistry(_ options: [String] = []) throws {
        let dir = root + "-registry-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        registryLog = dir + "/log"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", TestBundle.packageRoot + "/Tests/Fixtures/registry.py", TestBundle.packageRoot + "/Sysroot/out/busybox-oci",
                       "test/busybox", "v1", dir + "/port", registryLog] + options
        try p.run()
        addTeardownBlock {
            p.terminate()
            p.waitUntilExit()
            try? FileManager.default.removeItem(atPath: dir)
        }
        waitUntil(10, "the registry to listen") { FileManager.default.fileExists(atPath: dir + "/port") }
        port = Int(try String(contentsOfFile: dir + "/port", encoding: .utf8)) ?? 0
    }

    var ref: String { "localhost:\(port)/test/busybox:v1" }

    func blobGets() -> Int {
        ((try? String(contentsOfFile: registryLog, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains("/blobs/") }.count
    }

    /// The harness loaded the same image: take it out so the pull downloads everything.
    func emptyStore() throws -> String {
        let id = try swiftrun(["image", "inspect", "-f", "{{.Id}}", image]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try swiftrun(["rmi", image]).code, 0)
        return id
    }

    func testPullRunAndPullAgain() throws {
        try startRegistry(["--redirect"])
        let loaded = try emptyStore()
        let r = try swiftrun(["pull", ref])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("Pull complete"), r.out)
        XCTAssertTrue(r.out.contains("Status: Downloaded newer image for \(ref)\n"), r.out)
        XCTAssertTrue(r.out.hasSuffix("\n\(ref)\n"), r.out)
        XCTAssertEqual(blobGets(), 3, "config and two layers, each once (through the redirect)")
        let id = try swiftrun(["image", "inspect", "-f", "{{.Id}}", ref]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(id.hasPrefix("sha256:"), id)
        XCTAssertEqual(id, loaded, "the same image as `load` of the same layout")
        let run = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "--entrypoint", "cat", ref, "/www/index.html"])
        XCTAssertEqual(run.code, 0, run.err)
        XCTAssertTrue(run.out.contains("<h1>"), run.out)

        let again = try swiftrun(["pull", ref])
        XCTAssertTrue(again.out.contains("Status: Image is up to date for \(ref)"), again.out)
        XCTAssertEqual(blobGets(), 3, "nothing downloaded again")
        // By digest: the layers are here already.
        let digest = try XCTUnwrap(r.out.split(separator: "\n").first { $0.hasPrefix("Digest: ") }).dropFirst(8)
        let byDigest = try swiftrun(["pull", "localhost:\(port)/test/busybox@\(digest)"])
        XCTAssertEqual(byDigest.code, 0, byDigest.err)
        XCTAssertEqual(blobGets(), 3, byDigest.out)
    }

    func testRunPullsAMissingImage() throws {
        try startRegistry()
        let r = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "--entrypoint", "echo", ref, "hello"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "hello\n", "the pull reports on stderr, stdout is the container's")
        XCTAssertTrue(r.err.contains("Unable to find image '\(ref)' locally"), r.err)
        let never = try swiftrun(["run", "--pull", "never", "--rm", "localhost:\(port)/test/busybox:v9"])
        XCTAssertEqual(never.code, 125)
        XCTAssertTrue(never.err.contains("unable to find image"), never.err)
    }

    func testBearerTokenAuthAndLogin() throws {
        try startRegistry(["--auth", "bearer", "--user", "alice:s3cret"])
        let denied = try swiftrun(["pull", ref])
        XCTAssertEqual(denied.code, 1)
        XCTAssertTrue(denied.err.contains("swiftrun login localhost:\(port)"), denied.err)
        let wrong = try TestBundle.exec("/bin/sh", ["-c", "echo nope | \(TestBundle.binDir)/swiftrun login --root \(root) -u alice --password-stdin localhost:\(port)"])
        XCTAssertEqual(wrong.code, 1)
        XCTAssertTrue(wrong.err.contains("refused the credentials"), wrong.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/auth.json"), "refused credentials are not kept")
        let ok = try TestBundle.exec("/bin/sh", ["-c", "echo s3cret | \(TestBundle.binDir)/swiftrun login --root \(root) -u alice --password-stdin localhost:\(port)"])
        XCTAssertEqual(ok.out, "Login Succeeded\n", ok.err)
        let mode = (try FileManager.default.attributesOfItem(atPath: root + "/auth.json")[.posixPermissions] as? Int) ?? 0
        XCTAssertEqual(mode, 0o600)
        let r = try swiftrun(["pull", ref])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try swiftrun(["logout", "localhost:\(port)"]).out, "Removing login credentials for localhost:\(port)\n")
    }

    func testBasicAuth() throws {
        try startRegistry(["--auth", "basic", "--user", "bob:pw"])
        XCTAssertEqual(try swiftrun(["pull", ref]).code, 1)
        XCTAssertEqual(try swiftrun(["login", "-u", "bob", "-p", "pw", "localhost:\(port)"]).code, 0)
        let r = try swiftrun(["pull", ref])
        XCTAssertEqual(r.code, 0, r.err)
    }

    func testCorruptBlobLeavesTheStoreAsItWas() throws {
        try startRegistry(["--corrupt"])
        _ = try emptyStore()
        let before = try swiftrun(["images", "-q"]).out
        let r = try swiftrun(["pull", ref])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("does not match its digest"), r.err)
        XCTAssertEqual(try swiftrun(["images", "-q"]).out, before)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? []
        XCTAssertEqual(leftovers, [], "no partial download left")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256")) ?? [], [], "no blob of the failed pull kept")
    }

    /// A file lock, not a daemon: two pulls of the same image at once both succeed and
    /// leave one image.
    func testConcurrentPullsBothSucceed() throws {
        try startRegistry(["--slow"])
        _ = try emptyStore()
        let procs = (0..<2).map { _ -> (Process, String) in
            let p = Process(), err = root + "-pull-err-\(UUID().uuidString.prefix(6))"
            touch(err)
            p.executableURL = URL(fileURLWithPath: TestBundle.binDir + "/swiftrun")
            p.arguments = withRoot(["pull", ref])
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle(forWritingAtPath: err)
            return (p, err)
        }
        for (p, _) in procs { try p.run() }
        for (p, err) in procs {
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
            unlink(err)
        }
        XCTAssertEqual(lines(try swiftrun(["images", "-q"]).out).count, 1)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--network", "none", "--entrypoint", "true", ref]).code, 0)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? [], [])
        // Layers come down side by side: the config's GET, then both layers' before the
        // first (the slow 1 MB one) has finished streaming.
        let log = lines((try? String(contentsOfFile: registryLog, encoding: .utf8)) ?? "")
        let blobGets = log.enumerated().filter { $0.element.hasPrefix("GET ") && $0.element.contains("/blobs/") }
        let firstDone = log.firstIndex { $0.hasPrefix("DONE ") && $0.contains("/blobs/") } ?? log.count
        XCTAssertEqual(blobGets.filter { $0.offset < firstDone }.count, 3, log.joined(separator: "\n"))
    }

    /// kill -9 of a pull while a layer streams in: the store is as it was, and the next
    /// pull (taking the store's lock) clears what the dead one left and succeeds.
    func testPullKilledHalfWayLeavesTheStoreUsable() throws {
        try startRegistry(["--slow"])
        _ = try emptyStore()
        let before = try swiftrun(["images", "-q"]).out
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestBundle.binDir + "/swiftrun")
        p.arguments = withRoot(["pull", ref])
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        waitUntil(10, "a layer download to start") { self.blobGets() > 0 && (try? FileManager.default.contentsOfDirectory(atPath: self.root + "/tmp"))?.isEmpty == false }
        usleep(200_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "killed before it finished")
        XCTAssertEqual(try swiftrun(["images", "-q"]).out, before, "no image from a killed pull")
        XCTAssertFalse(((try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? []).isEmpty, "the dead pull's download is there")
        let again = try swiftrun(["pull", ref])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? [], [], "swept")
        XCTAssertEqual(try swiftrun(["run", "--rm", "--network", "none", "--entrypoint", "true", ref]).code, 0)
    }

    func testPlatformsTagsAndReferences() throws {
        try startRegistry()
        let s390 = try swiftrun(["pull", "--platform", "linux/s390x", ref])
        XCTAssertEqual(s390.code, 1)
        XCTAssertTrue(s390.err.contains("no matching manifest for linux/s390x") && s390.err.contains("linux/amd64, linux/arm64/v8"), s390.err)
        let tag = try swiftrun(["pull", "localhost:\(port)/test/busybox:v9"])
        XCTAssertEqual(tag.code, 1)
        XCTAssertTrue(tag.err.contains("manifest unknown"), tag.err)
        let upper = try swiftrun(["pull", "localhost:\(port)/Test/BusyBox"])
        XCTAssertTrue(upper.err.contains("invalid reference format: repository name (Test/BusyBox) must be lowercase"), upper.err)
        let repo = try swiftrun(["pull", "localhost:\(port)/other/repo:v1"])
        XCTAssertEqual(repo.code, 1)
        XCTAssertTrue(repo.err.contains("not found"), repo.err)
    }

    /// Debian's docker-registry (the Distribution project's registry), filled by skopeo from
    /// the OCI layout: the same pull against the implementation most registries run.
    func testPullFromTheDistributionRegistry() throws {
        for tool in ["/usr/bin/skopeo"] where !FileManager.default.fileExists(atPath: tool) {
            throw XCTSkip("\(tool) is missing: make deps installs it")
        }
        let addr = try startDistributionRegistry(root + "-distribution")
        let ref = "\(addr)/test/busybox:v1"
        let copy = try TestBundle.exec("/usr/bin/skopeo", ["copy", "--insecure-policy", "--dest-tls-verify=false",
                                                            "oci:" + TestBundle.packageRoot + "/Sysroot/out/busybox-oci:v1", "docker://" + ref])
        XCTAssertEqual(copy.code, 0, copy.err)
        _ = try emptyStore()
        let r = try swiftrun(["pull", ref])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("Status: Downloaded newer image for \(ref)"), r.out)
        let hc = try swiftrun(["image", "inspect", "-f", "{{json .Config.Healthcheck.Test}}", ref])
        XCTAssertTrue(hc.out.contains("CMD-SHELL"), "the config came through unchanged: \(hc.out) \(hc.err)")
        let run = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "--entrypoint", "true", ref])
        XCTAssertEqual(run.code, 0, run.err)
    }
}
