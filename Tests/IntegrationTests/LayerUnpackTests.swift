import Foundation
import XCTest
import ImageImport
import ImageStore
import CShim

/// Unpacking layers: every entry type lands right, and hostile layers are refused with
/// the entry named, nothing written outside, and no partial layer left behind.
final class LayerUnpackTests: XCTestCase {
    var dir = ""
    var outside: String { dir + "/outside" }
    var layers: String { dir + "/layers" }

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("unpacking owners and device nodes needs root") }
        dir = "/tmp/swiftrun-test-layers-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let r = try TestBundle.exec("/usr/bin/env", ["python3", TestBundle.packageRoot + "/Tests/Fixtures/make-layers.py", layers, outside])
        XCTAssertEqual(r.code, 0, r.err)
    }

    override func tearDown() {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    func stat(_ p: String) throws -> stat {
        var st = Glibc.stat()
        guard lstat(p, &st) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno)!) }
        return st
    }

    func testEveryEntryType() throws {
        // zstd, as newer registries serve layers.
        let zst = try TestBundle.exec("/usr/bin/zstd", ["-q", "-f", layers + "/good.tar", "-o", layers + "/good.tar.zst"])
        XCTAssertEqual(zst.code, 0, zst.err)
        for name in ["good.tar.gz", "good.tar", "good.tar.zst"] {
            let dest = dir + "/out-" + name
            let s = try Layer.unpack(blob: layers + "/" + name, into: dest)
            XCTAssertEqual(s.entries, 15)
            _ = s
            XCTAssertEqual(try String(contentsOfFile: dest + "/etc/passwd", encoding: .utf8), "root:x:0:0::/root:/bin/sh\n")
            let su = try stat(dest + "/bin/su")
            XCTAssertEqual(su.st_mode & 0o7777, 0o4755, "setuid kept (mode set after chown)")
            XCTAssertEqual(try stat(dest + "/bin/su-again").st_ino, su.st_ino, "hard link")
            let notes = try stat(dest + "/home/app/notes")
            XCTAssertEqual([notes.st_uid, notes.st_gid], [1000, 1000])
            XCTAssertEqual(notes.st_size, 100000)
            XCTAssertEqual(try stat(dest + "/home/app").st_mode & 0o777, 0o750)
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dest + "/bin/sh"), "/bin/busybox")
            XCTAssertEqual(try stat(dest + "/run/fifo").st_mode & S_IFMT, S_IFIFO)
            let null = try stat(dest + "/dev/null")
            XCTAssertEqual(null.st_mode & S_IFMT, S_IFCHR)
            XCTAssertEqual([(null.st_rdev >> 8) & 0xfff, null.st_rdev & 0xff], [1, 3])
            let wh = try stat(dest + "/etc/removed")
            XCTAssertEqual(wh.st_mode & S_IFMT, S_IFCHR, "whiteout: char 0:0 as overlayfs expects")
            XCTAssertEqual(wh.st_rdev, 0)
            var v = [UInt8](repeating: 0, count: 4)
            XCTAssertEqual(sr_lgetxattr(dest + "/var/cache", "trusted.overlay.opaque", &v, 4), 1)
            XCTAssertEqual(v[0], UInt8(ascii: "y"))
            XCTAssertEqual(sr_lgetxattr(dest + "/etc/xattr", "user.swiftrun", &v, 4), 3)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dest + "/abs/file"), "absolute paths land inside")
            XCTAssertTrue(FileManager.default.fileExists(atPath: dest + "/dot/file"))
            XCTAssertEqual(try stat(dest + "/etc/passwd").st_mtim.tv_sec, 1767225600)
            XCTAssertEqual(try stat(dest + "/etc").st_mtim.tv_sec, 1767225600, "directory times are set last")
        }
    }

    func testHostileLayersAreRefused() throws {
        let cases: [(String, String, String)] = [
            ("escape-dotdot.tar", "../escaped", "leaves the layer"),
            ("escape-dotdot-deep.tar", "a/b/../../../escaped", "leaves the layer"),
            ("escape-symlink-parent.tar", "link/escaped", "symlink"),
            ("escape-symlink-relative.tar", "up/escaped", "symlink"),
            ("escape-hardlink.tar", "h", "hard link to a path outside"),
            ("escape-hardlink-via-symlink.tar", "h", "symlink"),
            ("escape-whiteout.tar", "dir/.wh..", "whiteout for an invalid name"),
        ]
        for (file, entry, reason) in cases {
            let dest = dir + "/out-" + file
            XCTAssertThrowsError(try Layer.unpack(blob: layers + "/" + file, into: dest), file) { e in
                let msg = "\(e)"
                XCTAssertTrue(msg.contains("entry \"\(entry)\""), "\(file): \(msg)")
                XCTAssertTrue(msg.contains(reason), "\(file): \(msg)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "\(file): no layer left")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".partial") }, [], file)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "\(file) wrote outside the layer")
        }
    }

    func testBrokenArchives() throws {
        for file in ["truncated.tar.gz", "not-a-tar", "empty"] {
            let dest = dir + "/out-" + file
            XCTAssertThrowsError(try Layer.unpack(blob: layers + "/" + file, into: dest), file) { e in
                XCTAssertFalse("\(e)".isEmpty)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "\(file): no layer left")
        }
        XCTAssertThrowsError(try Layer.unpack(blob: dir + "/no-such-blob", into: dir + "/x")) { e in
            XCTAssertTrue("\(e)".contains("no-such-blob: ENOENT"), "\(e)")
        }
    }

    /// The same tree as GNU tar makes from the same layer: names, types, modes, owners,
    /// sizes, link targets, times, hard links.
    func testMatchesGNUTar() throws {
        let layer = dir + "/rootfs.tar.gz"
        let mk = try TestBundle.exec("/bin/tar", ["--sort=name", "--numeric-owner", "-C", TestBundle.rootfsSource, "-czf", layer, "."])
        XCTAssertEqual(mk.code, 0, mk.err)
        try Layer.unpack(blob: layer, into: dir + "/ours")
        try FileManager.default.createDirectory(atPath: dir + "/tars", withIntermediateDirectories: true)
        XCTAssertEqual(try TestBundle.exec("/bin/tar", ["--numeric-owner", "-xzf", layer, "-C", dir + "/tars"]).code, 0)
        func listing(_ d: String) throws -> String {
            try TestBundle.exec("/usr/bin/find", [d, "-printf", "%P %y %m %U %G %s %l %T@ %n\\n"]).out
                .split(separator: "\n").sorted().joined(separator: "\n")
        }
        let ours = try listing(dir + "/ours"), tars = try listing(dir + "/tars")
        XCTAssertGreaterThan(ours.split(separator: "\n").count, 250)
        XCTAssertEqual(ours, tars)
    }

    /// 400 random layers of dangerous pieces (Tests/Fixtures/fuzz-layers.py, fixed seed):
    /// each is unpacked or refused, and nothing appears outside its directory.
    func testFuzzedLayersNeverWriteOutside() throws {
        let corpus = dir + "/fuzz"
        try "keep\n".write(toFile: outside + "/victim", atomically: false, encoding: .utf8)
        let r = try TestBundle.exec("/usr/bin/env", ["python3", TestBundle.packageRoot + "/Tests/Fixtures/fuzz-layers.py", corpus, outside, "400"])
        XCTAssertEqual(r.code, 0, r.err)
        var unpacked = 0, refused = 0
        for i in 0..<400 {
            let dest = dir + "/fuzz-out-\(i)"
            do {
                _ = try Layer.unpack(blob: corpus + "/fuzz-\(i).tar", into: dest)
                unpacked += 1
            } catch {
                refused += 1
                XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "a refused layer leaves nothing: fuzz-\(i)")
                XCTAssertFalse("\(error)".isEmpty)
            }
            let inside = try FileManager.default.contentsOfDirectory(atPath: outside).sorted()
            XCTAssertEqual(inside, ["victim"], "fuzz-\(i) wrote outside its layer")
            if inside != ["victim"] { break }
        }
        XCTAssertEqual(try String(contentsOfFile: outside + "/victim", encoding: .utf8), "keep\n", "a hard link out was never written through")
        print("fuzzed layers: \(unpacked) unpacked, \(refused) refused")
        XCTAssertGreaterThan(unpacked, 20, "the corpus also has layers that are fine")
        XCTAssertGreaterThan(refused, 20, "and layers that are refused")
    }
}
