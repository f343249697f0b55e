import Foundation
import XCTest

/// `push` to Debian's docker-registry on loopback: a loaded and a built image, pulled back
/// into another store with the same digests; blobs the registry has are not sent again.
final class PushTests: EngineTestCase {
    func testPushedImagesPullBackTheSame() throws {
        let addr = try startDistributionRegistry(root + "-registry")
        // A built image (a layer of our own packing) on top of the loaded one.
        let ctx = root + "-ctx"
        try FileManager.default.createDirectory(atPath: ctx, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: ctx) }
        try "FROM swiftrun.test/busybox-httpd:v1\nUSER root\nRUN echo pushed > /marker\n".write(toFile: ctx + "/Dockerfile", atomically: true, encoding: .utf8)
        let ref = "\(addr)/team/chatbot:v1"
        XCTAssertEqual(try swiftrun(["build", "-t", ref, ctx]).code, 0)
        let id = try swiftrun(["images", "-q", "--no-trunc", ref]).out

        // In chunks of 64 kB (the base layer is larger): POST, PATCHes, PUT.
        setenv("SWIFTRUN_PUSH_CHUNK_SIZE", "65536", 1)
        let r = try swiftrun(["push", ref])
        unsetenv("SWIFTRUN_PUSH_CHUNK_SIZE")
        XCTAssertEqual(r.code, 0, r.err)
        let log = (try? String(contentsOfFile: root + "-registry/log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("\"PATCH /v2/team/chatbot/blobs/uploads/"), "chunked upload")
        // Every layer goes gzip, as Docker pushes (ours are stored as plain tars).
        let m = try TestBundle.exec("/usr/bin/curl", ["-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json", "http://\(addr)/v2/team/chatbot/manifests/v1"])
        let manifest = try JSONSerialization.jsonObject(with: Data(m.out.utf8)) as? [String: Any]
        let types = (manifest?["layers"] as? [[String: Any]] ?? []).compactMap { $0["mediaType"] as? String }
        XCTAssertEqual(types.count, 3, m.out)
        XCTAssertTrue(types.allSatisfy { $0 == "application/vnd.oci.image.layer.v1.tar+gzip" }, "\(types)")
        XCTAssertTrue(r.out.contains("The push refers to repository [\(addr)/team/chatbot]"), r.out)
        XCTAssertEqual(r.out.components(separatedBy: ": Pushed").count - 1, 3, "the base image's two layers and the RUN's: \(r.out)")
        XCTAssertTrue(r.out.contains("v1: digest: sha256:"), r.out)
        let again = try swiftrun(["push", ref])
        XCTAssertEqual(again.out.components(separatedBy: ": Layer already exists").count - 1, 3, again.out)
        // Another repository of the same registry: its blobs are mounted, not sent.
        let other = "\(addr)/team/other:v1"
        XCTAssertEqual(try swiftrun(["tag", ref, other]).code, 0)
        let mount = try swiftrun(["push", other])
        XCTAssertEqual(mount.code, 0, mount.err)
        XCTAssertTrue(mount.out.contains("Mounted from team/chatbot"), mount.out)

        // Pulled into an empty store: the same image, and it runs.
        let fresh = root + "-fresh"
        defer { try? FileManager.default.removeItem(atPath: fresh) }
        let pull = try TestBundle.exec(TestBundle.binDir + "/swiftrun", ["pull", "--root", fresh, ref])
        XCTAssertEqual(pull.code, 0, pull.err)
        let back = try TestBundle.exec(TestBundle.binDir + "/swiftrun", ["images", "--root", fresh, "-q", "--no-trunc", ref])
        XCTAssertEqual(back.out, id, "the same config digest")
        let run = try TestBundle.exec(TestBundle.binDir + "/swiftrun", ["run", "--root", fresh, "--rm", "--network", "none", "--entrypoint", "cat", ref, "/marker"])
        XCTAssertEqual(run.out, "pushed\n", run.err)
    }

    /// A private registry (htpasswd): push is refused with what to do, then goes with the
    /// credentials `login` kept.
    func testPushWithTheCredentialsOfLogin() throws {
        let addr = try startDistributionRegistry(root + "-private", users: ["carol": "s3cret"])
        let ref = "\(addr)/team/private:v1"
        XCTAssertEqual(try swiftrun(["tag", image, ref]).code, 0)
        let denied = try swiftrun(["push", ref])
        XCTAssertEqual(denied.code, 1)
        XCTAssertTrue(denied.err.contains("swiftrun login \(addr)"), denied.err)
        XCTAssertEqual(try swiftrun(["login", "-u", "carol", "-p", "s3cret", addr]).code, 0)
        let r = try swiftrun(["push", ref])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out.components(separatedBy: ": Pushed").count - 1, 2, r.out)
        let fresh = root + "-fresh-private"
        defer { try? FileManager.default.removeItem(atPath: fresh) }
        XCTAssertEqual(try TestBundle.exec(TestBundle.binDir + "/swiftrun", ["pull", "--root", fresh, ref]).code, 1, "another store has no credentials")
    }

    func testPushOfAMissingImage() throws {
        let r = try swiftrun(["push", "127.0.0.1:1/nothing:here"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("An image does not exist locally with the tag: 127.0.0.1:1/nothing:here"), r.err)
    }
}
