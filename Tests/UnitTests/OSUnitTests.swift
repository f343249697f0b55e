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
