@testable import Engine
import OS
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The port relay's UDP flows age on its clock: a fake one here.
final class RelayUnitTests: XCTestCase {
    func testIdleFlowsGoAfterAMinuteAndTheLoopWakesForThem() throws {
        var t: Int64 = 0
        let relay = PortRelay(listeners: [])
        relay.now = { t }
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &fds), 0)
        defer { close(fds[1]) }
        relay.flows = [PortRelay.Flow(listener: 0, client: sockaddr_in(), inside: FD(fds[0]), now: relay.now())]
        XCTAssertEqual(relay.nextExpiryNs, PortRelay.flowIdleNs, "the loop's wake for it")
        t = PortRelay.flowIdleNs - 1
        relay.handle(relay.pollfds()[...])
        XCTAssertEqual(relay.flows.count, 1, "a second short of a minute: kept")
        t = PortRelay.flowIdleNs
        relay.handle(relay.pollfds()[...])
        XCTAssertTrue(relay.flows.isEmpty, "idle for a minute: gone")
        XCTAssertNil(relay.nextExpiryNs)
    }
}
