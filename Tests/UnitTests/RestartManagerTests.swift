import XCTest
@testable import Engine

/// Docker's restart rules, with no container and no clock.
final class RestartManagerTests: XCTestCase {
    let s: Int64 = 1_000_000_000

    func policy(_ p: String) throws -> Container.RestartPolicy { try Container.RestartPolicy.parse(p) }

    func testPolicies() throws {
        var m = RestartManager()
        XCTAssertNil(m.afterExit(policy: try policy("no"), code: 1, ranNs: s, restartCount: 0, forced: false, stopRequested: false))
        XCTAssertNotNil(m.afterExit(policy: try policy("always"), code: 0, ranNs: s, restartCount: 0, forced: false, stopRequested: false))
        XCTAssertNotNil(m.afterExit(policy: try policy("unless-stopped"), code: 0, ranNs: s, restartCount: 0, forced: false, stopRequested: false))
        XCTAssertNil(m.afterExit(policy: try policy("on-failure"), code: 0, ranNs: s, restartCount: 0, forced: false, stopRequested: false),
                     "on-failure: a clean exit stays down")
        XCTAssertNotNil(m.afterExit(policy: try policy("on-failure:3"), code: 2, ranNs: s, restartCount: 2, forced: false, stopRequested: false))
        XCTAssertNil(m.afterExit(policy: try policy("on-failure:3"), code: 2, ranNs: s, restartCount: 3, forced: false, stopRequested: false),
                     "three retries, then no more")
        XCTAssertNil(m.afterExit(policy: try policy("always"), code: 1, ranNs: s, restartCount: 0, forced: true, stopRequested: true),
                     "a stop the user asked for is never undone")
        XCTAssertEqual(m.afterExit(policy: try policy("no"), code: 0, ranNs: s, restartCount: 0, forced: true, stopRequested: false), 0,
                       "--health-on-failure=restart: at once, whatever the policy")
    }

    func testBackoffDoublesToAMinuteAndResetsAfterTenSecondsUp() throws {
        var m = RestartManager()
        let always = try policy("always")
        var waits: [Int64] = []
        for _ in 0..<12 { waits.append(m.afterExit(policy: always, code: 1, ranNs: s, restartCount: 0, forced: false, stopRequested: false)!) }
        XCTAssertEqual(waits.prefix(4), [s / 10, s / 5, 2 * s / 5, 4 * s / 5])
        XCTAssertEqual(waits.last, 60 * s, "capped at a minute")
        XCTAssertEqual(m.afterExit(policy: always, code: 1, ranNs: 10 * s, restartCount: 0, forced: false, stopRequested: false), s / 10,
                       "ten seconds up: back to the start")
    }
}
