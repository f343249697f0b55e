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
}
