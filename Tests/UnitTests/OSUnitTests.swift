import Foundation
import XCTest
@testable import OS
import CShim

/// StdioRelay with pipes standing in for the user's fds and the container's process.
final class StdioRelayTests: XCTestCase {
    func pipe() -> (r: Int32, w: Int32) {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(sr_pipe_cloexec(&fds), 0)
        return (fds[0], fds[1])
    }

    func readAll(_ fd: Int32) -> String {
        (try? String(decoding: FD(fd).readToEnd(), as: UTF8.self)) ?? "<error>"
    }

    func write(_ fd: Int32, _ s: String) { XCTAssertEqual(Glibc.write(fd, s, s.utf8.count), s.utf8.count) }

    func testCopiesBothWaysUntilTheOutputsEnd() throws {
        let userIn = pipe(), userOut = pipe(), userErr = pipe()
        var relay: StdioRelay? = try StdioRelay(input: true, userFds: (userIn.r, userOut.w, userErr.w))
        // The container's side: copies of its ends, as a spawned process would hold them.
        let c = relay!.containerStdio.map { dup($0) }
        relay!.handedOver()
        write(userIn.w, "typed")
        close(userIn.w)
        write(c[1], "out")
        write(c[2], "err")
        close(c[1])
        close(c[2])
        relay!.run()
        relay = nil
        close(userOut.w)
        close(userErr.w)
        XCTAssertEqual(readAll(userOut.r), "out")
        XCTAssertEqual(readAll(userErr.r), "err")
        XCTAssertEqual(readAll(c[0]), "typed", "the user's EOF reaches the container's stdin")
        close(userIn.r)
    }

    func testWithoutInputStdinIsNullAndDoneEndsTheCopy() throws {
        let userOut = pipe(), userErr = pipe(), done = pipe()
        let relay = try StdioRelay(input: false, userFds: (-1, userOut.w, userErr.w))
        let c = relay.containerStdio.map { dup($0) }
        relay.handedOver()
        XCTAssertEqual(try Files.readlink("/proc/self/fd/\(c[0])"), "/dev/null")
        // Something else keeps the output open (a background child): done ends it, and
        // what was written before is not lost.
        write(c[1], "before the exit")
        write(done.w, "x")
        relay.run(until: done.r)
        close(userOut.w)
        close(userErr.w)
        XCTAssertEqual(readAll(userOut.r), "before the exit")
        XCTAssertEqual(readAll(userErr.r), "")
        c.forEach { close($0) }
        close(done.r)
        close(done.w)
    }

    func testInputTheContainerDoesNotReadDoesNotStallTheOutput() throws {
        signal(SIGPIPE, SIG_IGN) // the feeder's last write, once nobody reads
        let userIn = pipe(), userOut = pipe(), userErr = pipe()
        let relay = try StdioRelay(input: true, userFds: (userIn.r, userOut.w, userErr.w))
        let c = relay.containerStdio.map { dup($0) }
        relay.handedOver()
        // 1 MiB of input (more than a pipe holds) that nobody reads, while output flows.
        let big = [UInt8](repeating: 0x79, count: 1 << 20)
        let feeder = Thread {
            big.withUnsafeBytes { b in
                var off = 0
                while off < b.count {
                    let n = Glibc.write(userIn.w, b.baseAddress! + off, b.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
            close(userIn.w)
        }
        feeder.start()
        write(c[1], "still flowing")
        close(c[1])
        close(c[2])
        relay.run()
        close(userOut.w)
        close(userErr.w)
        XCTAssertEqual(readAll(userOut.r), "still flowing")
        close(c[0]) // the feeder's writes now fail, and it ends
        close(userIn.r)
    }
}

final class RemoveTreeTests: XCTestCase {
    /// Names no String round-trips (invalid UTF-8, a newline, 250 bytes), a tree deeper than
    /// PATH_MAX, and a symlink out of the tree, which goes without its target.
    func testRemovesWhatStringPathsCannotName() throws {
        let base = NSTemporaryDirectory() + "removetree-" + UUID().uuidString
        let outside = base + "-outside"
        try FileManager.default.createDirectory(atPath: base + "/weird", withIntermediateDirectories: true)
        try "keep".write(toFile: outside, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let weird = open(base + "/weird", O_RDONLY | O_DIRECTORY)
        for name: [UInt8] in [Array("bad".utf8) + [0xff, 0xfe], Array("new\nline".utf8), [UInt8](repeating: 0x61, count: 250)] {
            let fd = openat(weird, name.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
            XCTAssertGreaterThanOrEqual(fd, 0)
            close(fd)
        }
        XCTAssertEqual(mkdirat(weird, [0x64, -1, 0], 0o755), 0)
        close(weird)
        XCTAssertEqual(symlink(outside, base + "/link"), 0)
        // 2,100 levels of "d/": 4,200 bytes of path.
        var cur = open(base, O_RDONLY | O_DIRECTORY)
        for _ in 0..<2100 {
            XCTAssertEqual(mkdirat(cur, "d", 0o755), 0)
            let next = openat(cur, "d", O_RDONLY | O_DIRECTORY)
            close(cur)
            cur = next
        }
        let leaf = openat(cur, "f", O_CREAT | O_WRONLY, 0o644)
        close(leaf)
        close(cur)

        try Files.removeTree(base)
        XCTAssertFalse(Files.exists(base))
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), "keep", "a symlink is removed, never followed")
        try Files.removeTree(base) // gone already: nothing to do
    }
}

/// Go's path.Match, case by case from its own tests.
final class GlobTests: XCTestCase {
    func testGoPathMatch() {
        let cases: [(String, String, Bool)] = [
            ("abc", "abc", true), ("*", "abc", true), ("*c", "abc", true), ("a*", "a", true), ("a*", "abc", true),
            ("a*", "ab/c", false), ("a*/b", "abc/b", true), ("a*/b", "a/c/b", false), ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true), ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false), ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false), ("ab[c]", "abc", true), ("ab[b-d]", "abc", true), ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false), ("ab[^b-d]", "abc", false), ("ab[^e-g]", "abc", true), ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false), ("a?b", "a☺b", true), ("a[^a]b", "a☺b", true), ("a???b", "a☺b", false),
            ("*x", "xxx", true), ("[", "a", false), ("a[", "a", false), ("busybox*", "busybox:latest", true),
            ("swiftrun.test/*", "swiftrun.test/busybox-httpd:v1", true), ("*", "a/b", false),
        ]
        for (p, s, want) in cases { XCTAssertEqual(Glob.match(p, s), want, "\(p) ~ \(s)") }
    }
}
