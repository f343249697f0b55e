import Foundation
import XCTest

/// -v, --mount, --tmpfs and `volume`: what a postgres or an upload directory needs.
final class VolumeTests: EngineTestCase {
    func run(_ args: [String], _ cmd: String) throws -> (code: Int32, out: String, err: String) {
        let r = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "-u", "root"] + args + ["--entrypoint", "sh", image, "-c", cmd])
        return (r.code, r.out, r.err)
    }

    func hostDir() throws -> String {
        let d = root + "-host"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func testNamedVolumeIsSeededFromTheImageAndOutlivesContainers() throws {
        let plain = try run([], "stat -c '%U:%G %a' /www /www/index.html")
        var r = try run(["-v", "site:/www"], "stat -c '%U:%G %a' /www /www/index.html; cat /www/index.html; echo kept > /www/added")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix(plain.out), "owners and modes as in the image: \(plain.out) vs \(r.out)")
        XCTAssertTrue(r.out.contains("<h1>"), "the image's files were copied in: \(r.out)")
        r = try run(["-v", "site:/www:ro"], "cat /www/added; echo x > /www/y")
        XCTAssertTrue(r.out.contains("kept"), "the volume outlived the first container")
        XCTAssertTrue(r.err.contains("Read-only file system"), r.err)
        // Seeded once: what the user deleted does not come back.
        r = try run(["-v", "site:/www"], "rm /www/index.html")
        r = try run(["-v", "site:/www"], "ls /www")
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").sorted(), ["added", "health"])
        let ls = try swiftrun(["volume", "ls", "-q"])
        XCTAssertEqual(ls.out, "site\n")
        let mp = try swiftrun(["volume", "inspect", "-f", "{{.Mountpoint}}", "site"])
        XCTAssertEqual(mp.out, root + "/volumes/site/_data\n")
        XCTAssertEqual(try swiftrun(["volume", "rm", "site"]).code, 0)
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out, "")
        // --mount with volume-nocopy gets an empty volume.
        r = try run(["--mount", "type=volume,source=empty,target=/www,volume-nocopy"], "ls -A /www | wc -l")
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    func testBindMountsReadWriteAndReadOnly() throws {
        let d = try hostDir()
        try "from the host\n".write(toFile: d + "/in", atomically: false, encoding: .utf8)
        var r = try run(["-v", d + ":/h"], "cat /h/in; echo back > /h/out")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "from the host\n")
        XCTAssertEqual(try String(contentsOfFile: d + "/out", encoding: .utf8), "back\n")
        r = try run(["--mount", "type=bind,source=\(d),target=/h,readonly"], "echo no > /h/out2")
        XCTAssertTrue(r.err.contains("Read-only file system"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/out2"))
        // -v makes a missing host directory, --mount refuses it (Docker's two behaviours).
        r = try run(["-v", d + "/made/here:/m"], "echo ok > /m/f")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: d + "/made/here/f"))
        r = try run(["--mount", "type=bind,src=\(d)/missing,dst=/m"], "true")
        XCTAssertEqual(r.code, 125)
        XCTAssertTrue(r.err.contains("bind source path does not exist: \(d)/missing"), r.err)
    }

    func testTmpfsMounts() throws {
        let r = try run(["--tmpfs", "/scratch:size=1m", "--mount", "type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770"],
                        "grep -E ' /(scratch|t) ' /proc/mounts; stat -c %a /t")
        XCTAssertEqual(r.code, 0, r.err)
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,") && $0.contains("size=1024k") }, r.out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("tmpfs /t tmpfs") && $0.contains("size=2048k") }, r.out)
        XCTAssertEqual(lines.last, "1770")
    }

    func testAnonymousVolumesGoWithRmVAndRunRm() throws {
        let id = try runDetached(["--network", "none", "--no-healthcheck", "-v", "/data", "--entrypoint", "sleep", image, "1000"])
        let mounts = try inspect(id)["Mounts"] as? [[String: Any]] ?? []
        XCTAssertEqual(mounts.count, 1)
        let name = mounts.first?["Name"] as? String ?? ""
        XCTAssertEqual(name.count, 64, "an anonymous volume gets a 64-hex name: \(mounts)")
        XCTAssertEqual(mounts.first?["Destination"] as? String, "/data")
        XCTAssertEqual(mounts.first?["Type"] as? String, "volume")
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out, name + "\n")
        let busy = try swiftrun(["volume", "rm", name])
        XCTAssertEqual(busy.code, 1)
        XCTAssertTrue(busy.err.contains("volume is in use - [\(id)]"), busy.err)
        XCTAssertEqual(try swiftrun(["rm", "-f", "-v", id]).code, 0)
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out, "", "rm -v took the anonymous volume")

        // rm without -v keeps it (prune then takes it); --rm takes it; a named one stays.
        let id2 = try runDetached(["--network", "none", "--no-healthcheck", "-v", "/data", "--entrypoint", "sleep", image, "1000"])
        try swiftrun(["rm", "-f", id2])
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out.count, 65)
        XCTAssertTrue(try swiftrun(["volume", "prune", "-f"]).out.hasPrefix("Deleted Volumes:"))
        _ = try run(["-v", "/anon", "-v", "named:/named"], "true")
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out, "named\n")
        try swiftrun(["volume", "rm", "named"])
    }

    func testBadVolumeSpecsFailBeforeAnythingIsMade() throws {
        let cases: [([String], String)] = [
            (["-v", "bad name:/x"], "includes invalid characters for a local volume name"),
            (["-v", "data:relative"], "mount path must be absolute"),
            (["-v", "va:/x", "-v", "vb:/x/"], "Duplicate mount point: /x"),
            (["-v", "va:/x:rx"], "unknown option 'rx'"),
            (["--mount", "type=bind,target=/x"], "source must be an absolute host path"),
            (["--mount", "type=volume,src=vol"], "target is required"),
            (["--mount", "type=volume,src=vol,target=/x,color=red"], "unexpected key 'color'"),
            (["--tmpfs", "/x:foo"], "unknown option 'foo'"),
        ]
        for (flags, words) in cases {
            let r = try run(flags, "true")
            XCTAssertEqual(r.code, 125, "\(flags)")
            XCTAssertTrue(r.err.contains(words), "\(flags): \(r.err)")
        }
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out, "", "no volume was left by a refused run")
        XCTAssertEqual(try swiftrun(["ps", "-aq"]).out, "")
    }

    /// An image's VOLUME gets an anonymous volume, filled from the image, unless the user
    /// mounted something there; it goes with `rm -v` (and `--rm`).
    func testImageVolumesAreAnonymousVolumes() throws {
        let dir = root + "-archives"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(try TestBundle.exec("/usr/bin/env", ["python3", TestBundle.packageRoot + "/Tests/Fixtures/make-archives.py", dir]).code, 0)
        XCTAssertEqual(try swiftrun(["load", "-i", dir + "/volume-image.tar"]).code, 0)
        XCTAssertEqual(try swiftrun(["create", "--name", "vv", "--network", "none", "withvolume:v1"]).code, 0)
        let mounts = try XCTUnwrap(try inspect("vv")["Mounts"] as? [[String: Any]])
        XCTAssertEqual(mounts.map { $0["Destination"] as? String }, ["/cache", "/data"])
        XCTAssertEqual(mounts.map { $0["Type"] as? String }, ["volume", "volume"])
        let data = try XCTUnwrap(mounts.last?["Source"] as? String)
        XCTAssertEqual(try String(contentsOfFile: data + "/seed", encoding: .utf8), "from the image\n", "filled from the image")
        XCTAssertEqual(lines(try swiftrun(["volume", "ls", "-q"]).out).count, 2)
        XCTAssertEqual(try swiftrun(["rm", "-v", "vv"]).code, 0)
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out, "", "anonymous volumes go with rm -v")

        XCTAssertEqual(try swiftrun(["create", "--name", "v2", "--network", "none", "-v", "mine:/data", "withvolume:v1"]).code, 0)
        XCTAssertEqual(lines(try swiftrun(["volume", "ls", "-q"]).out).sorted().last, "mine", "the user's volume at /data, an anonymous one at /cache")
        XCTAssertEqual(lines(try swiftrun(["volume", "ls", "-q"]).out).count, 2)
        XCTAssertEqual(try swiftrun(["rm", "-v", "v2"]).code, 0)
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out, "mine\n", "a named volume stays")
        XCTAssertEqual(try swiftrun(["volume", "rm", "mine"]).code, 0)
    }
}
