import Foundation
import XCTest
@testable import Engine
import OS

/// The supervisor's sources read back by name after a real poll of pipes.
final class PollSetTests: XCTestCase {
    func testSourcesByName() throws {
        let a = try FD.pipe(), b = try FD.pipe(), r1 = try FD.pipe(), r2 = try FD.pipe()
        var set = PollSet()
        set.add(.initExit, fd: -1, events: Int16(POLLIN))
        set.add(.stdout, fd: a.r.raw, events: Int16(POLLIN))
        set.add(.stderr, fd: b.r.raw, events: Int16(POLLIN))
        set.add(.relay, [pollfd(fd: r1.r.raw, events: Int16(POLLIN), revents: 0), pollfd(fd: r2.r.raw, events: Int16(POLLIN), revents: 0)])
        set.add(.probeExit, fd: -1, events: Int16(POLLIN))
        try b.w.writeAll([1])
        try r2.w.writeAll([1])
        XCTAssertEqual(poll(&set.fds, nfds_t(set.fds.count), 1000), 2)
        XCTAssertFalse(set.ready(.stdout))
        XCTAssertTrue(set.ready(.stderr))
        XCTAssertFalse(set.ready(.initExit), "no fd: nothing")
        XCTAssertFalse(set.ready(.nameServer), "not in the set: nothing")
        let relay = set.slice(.relay)
        XCTAssertEqual(relay.count, 2)
        XCTAssertEqual(relay[relay.startIndex + 1].revents & Int16(POLLIN), Int16(POLLIN), "the relay's own order, absolute indices")
        XCTAssertTrue(set.anyReady(except: [.probeExit]))
        XCTAssertFalse(set.anyReady(except: [.stderr, .relay]))
    }
}
