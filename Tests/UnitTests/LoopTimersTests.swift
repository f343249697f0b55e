@testable import Engine
import XCTest

/// The supervisor loop's deadlines on a fake clock: when it wakes, when it idles.
final class LoopTimersTests: XCTestCase {
    let s: Int64 = 1_000_000_000, ms: Int64 = 1_000_000

    func testIdlesAQuietSecondAfterTheLastEvent() {
        var t = LoopTimers(nowNs: 0, resumed: false)
        XCTAssertEqual(t.wake(.init(), exited: false), s, "nothing else armed: wake to go idle")
        XCTAssertFalse(t.afterWait(nowNs: 400 * ms, event: true, probeOnly: false, probeStarted: false, probeRunning: false))
        XCTAssertEqual(t.wake(.init(), exited: false), 1400 * ms, "an event moves the quiet spell")
        XCTAssertTrue(t.afterWait(nowNs: 1400 * ms, event: false, probeOnly: false, probeStarted: false, probeRunning: false))
        XCTAssertEqual(t.wake(.init(), exited: false), Int64.max, "idle: no timer until an event")
        XCTAssertFalse(t.afterWait(nowNs: 9 * s, event: false, probeOnly: false, probeStarted: false, probeRunning: false),
                       "a timeout with nothing ready does not idle twice")
    }

    func testAProbeDoesNotKeepItAwake() {
        var t = LoopTimers(nowNs: 0, resumed: false)
        XCTAssertTrue(t.afterWait(nowNs: s, event: false, probeOnly: false, probeStarted: false, probeRunning: false))
        // The probe due at 30 s starts; its output and end are not events of the container.
        XCTAssertFalse(t.afterWait(nowNs: 30 * s, event: false, probeOnly: false, probeStarted: true, probeRunning: true))
        XCTAssertEqual(t.wake(.init(probeDeadlineNs: 60 * s), exited: false), 31 * s)
        XCTAssertTrue(t.afterWait(nowNs: 30 * s + 3 * ms, event: false, probeOnly: true, probeStarted: false, probeRunning: false),
                      "the probe ended 3 ms in, long after the last event: idle at once")
    }

    func testAProbeStillRunningHoldsTheQuietSpell() {
        var t = LoopTimers(nowNs: 0, resumed: true)
        XCTAssertFalse(t.afterWait(nowNs: 100 * ms, event: false, probeOnly: true, probeStarted: false, probeRunning: true))
        XCTAssertEqual(t.releaseAtNs, 1100 * ms)
    }

    func testTheEarliestDeadlineWins() {
        let t = LoopTimers(nowNs: 0, resumed: false)
        XCTAssertEqual(t.wake(.init(probeNs: 700 * ms, killNs: 300 * ms, relayExpiryNs: 60 * s), exited: false), 300 * ms)
        XCTAssertEqual(t.wake(.init(probeNs: 200 * ms, probeDeadlineNs: 250 * ms), exited: false), 200 * ms)
    }

    func testAnExitedContainerIsDrainedForTwoSecondsAtMost() {
        var t = LoopTimers(nowNs: 0, resumed: false)
        _ = t.afterWait(nowNs: 5 * s, event: false, probeOnly: false, probeStarted: false, probeRunning: false)
        t.exited(nowNs: 10 * s)
        XCTAssertEqual(t.wake(.init(), exited: true), 12 * s)
        XCTAssertFalse(t.drained(nowNs: 11 * s))
        XCTAssertTrue(t.drained(nowNs: 12 * s))
    }

    func testTimeoutsRoundUpAndHandOverOnlyLongWaits() {
        XCTAssertEqual(LoopTimers.timeoutMs(wakeNs: Int64.max, nowNs: 5), -1)
        XCTAssertEqual(LoopTimers.timeoutMs(wakeNs: 1, nowNs: 0), 1, "never early: a 0 ms poll would spin")
        XCTAssertEqual(LoopTimers.timeoutMs(wakeNs: 0, nowNs: 9 * ms), 0)
        XCTAssertEqual(LoopTimers.timeoutMs(wakeNs: Int64.max - 1, nowNs: 0), Int32.max)
        XCTAssertFalse(LoopTimers.worthHandingOver(wakeNs: 499 * ms, nowNs: 0))
        XCTAssertTrue(LoopTimers.worthHandingOver(wakeNs: Int64.max, nowNs: 0))
    }
}
