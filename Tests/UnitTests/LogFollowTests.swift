import Foundation
import XCTest
@testable import Engine
import OS

/// `logs -f` across rotation: every line once, in order, however many rotations pass
/// between two reads (as long as the follower's file was not rotated out entirely).
final class LogFollowTests: XCTestCase {
    func follow(maxFile: Int, burst: Int, lines total: Int) throws -> [String] {
        let dir = NSTemporaryDirectory() + "logfollow-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/c-json.log"
        // ~60-byte entries, 30 to a file.
        let w = try JSONLogWriter(path: path, maxSize: 2000, maxFile: maxFile)
        let follower = JSONLogFollower(base: path, fd: try FD.open(path, O_RDONLY), offset: 0)
        var got: [String] = []
        func copy(_ fd: Int32, _ from: Int) -> Int {
            var off = from
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            var carry: [UInt8] = []
            while true {
                let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(off + carry.count)) }
                if n <= 0 { return off }
                carry += buf[0..<n]
                while let nl = carry.firstIndex(of: 0x0a) {
                    if let e = JSONLogReader.parse(carry[..<nl]) { got.append(String(decoding: e.log, as: UTF8.self)) }
                    carry.removeFirst(nl + 1)
                    off += nl + 1
                }
            }
        }
        var written = 0
        while written < total {
            for _ in 0..<min(burst, total - written) {
                Array("line \(written)\n".utf8).withUnsafeBytes { w.write($0, stream: "stdout") }
                written += 1
            }
            _ = follower.poll(copy)
        }
        _ = follower.poll(copy)
        return got
    }

    func testEveryLineOnceAcrossRotations() throws {
        let want = (0..<600).map { "line \($0)\n" }
        XCTAssertEqual(try follow(maxFile: 5, burst: 7, lines: 600), want, "a rotation now and then")
        XCTAssertEqual(try follow(maxFile: 5, burst: 100, lines: 600), want, "up to four rotations between two reads")
        XCTAssertEqual(try follow(maxFile: 1, burst: 20, lines: 600), want, "max-file=1: the old file is unlinked, read by fd")
        XCTAssertEqual(try follow(maxFile: 2, burst: 40, lines: 600), want)
    }

    /// Caught in the middle of a rotation: a number missing (its file moved up already) and a
    /// file under two numbers (a hard link stands in for one met before and after its rename).
    func testASnapshotMidRotationSkipsNothingAndRepeatsNothing() throws {
        let dir = NSTemporaryDirectory() + "logsnap-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = dir + "/c-json.log"
        func entry(_ s: String) -> String { #"{"log":"\#(s)\n","stream":"stdout","time":"2026-01-01T00:00:00Z"}"# + "\n" }
        try entry("x").write(toFile: base + ".3", atomically: false, encoding: .utf8)   // ours, the oldest
        try entry("y").write(toFile: base + ".2", atomically: false, encoding: .utf8)   // moved up from .1: .1 is missing
        try entry("z").write(toFile: base, atomically: false, encoding: .utf8)          // the current file
        let ours = try FD.open(base + ".3", O_RDONLY)
        let f = JSONLogFollower(base: base, fd: ours, offset: 0)
        var got: [String] = []
        func copy(_ fd: Int32, _ from: Int) -> Int {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(from)) }
            guard n > 0 else { return from }
            for line in buf[0..<n].split(separator: 0x0a) {
                if let e = JSONLogReader.parse(line) { got.append(String(decoding: e.log, as: UTF8.self)) }
            }
            return from + n
        }
        _ = f.poll(copy)
        XCTAssertEqual(got, ["x\n", "y\n", "z\n"], "past the gap")
        // y under two numbers: read once.
        XCTAssertEqual(link(base + ".2", base + ".4"), 0)
        let again = JSONLogFollower(base: base, fd: try FD.open(base + ".3", O_RDONLY), offset: 0)
        got = []
        XCTAssertEqual(rename(base + ".2", base + ".1"), 0)
        _ = again.poll(copy)
        XCTAssertEqual(got, ["x\n", "y\n", "z\n"])
    }
}
