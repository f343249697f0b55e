/// The supervisor loop's own deadlines, in monotonic nanoseconds: when to wake, when a
/// quiet spell has begun (the supervisor then idles: Handover.swift), how long an exited
/// container's pipes are drained. Pure: the loop passes the time, LoopTimersTests a fake one.
struct LoopTimers: Equatable {
    /// Idle this long after the last event.
    static let quietNs: Int64 = 1_000_000_000
    /// A wake through swiftrun-idle costs 2.8 ms of CPU, 0.6 in place (docs/benchmarks.md):
    /// only a wait at least this long is handed over.
    static let handOverMinNs: Int64 = 500_000_000
    /// After the init's exit, what remains in the pipes is read to the end, with this bound
    /// in case something outside the container holds them.
    static let drainNs: Int64 = 2_000_000_000

    /// When the quiet spell begins (0: it has; idle until the next event).
    var releaseAtNs: Int64
    var lastEventNs: Int64
    /// Set at the init's exit.
    var drainUntilNs: Int64 = 0

    /// `resumed`: back from swiftrun-idle, whose wake was an event or a timer already.
    init(nowNs: Int64, resumed: Bool) {
        releaseAtNs = nowNs + Self.quietNs
        lastEventNs = resumed ? 0 : nowNs
    }

    /// The loop's other deadlines, each nil when not armed.
    struct Due {
        var probeNs: Int64? = nil
        var probeDeadlineNs: Int64? = nil
        var killNs: Int64? = nil
        var relayExpiryNs: Int64? = nil
    }

    /// The earliest deadline (Int64.max: none).
    func wake(_ due: Due, exited: Bool) -> Int64 {
        var w = Int64.max
        for d in [due.probeNs, due.probeDeadlineNs, due.killNs, due.relayExpiryNs] { if let d { w = min(w, d) } }
        if exited { w = min(w, drainUntilNs) }
        if releaseAtNs > 0 { w = min(w, releaseAtNs) }
        return w
    }

    /// The poll timeout in ms for a wake at `wakeNs` (-1: none), rounded up so that the
    /// loop never wakes a little early and spins.
    static func timeoutMs(wakeNs: Int64, nowNs: Int64) -> Int32 {
        guard wakeNs != Int64.max else { return -1 }
        let d = max(0, wakeNs - nowNs)
        return Int32(clamping: d / 1_000_000 + (d % 1_000_000 > 0 ? 1 : 0))
    }

    static func worthHandingOver(wakeNs: Int64, nowNs: Int64) -> Bool { wakeNs - nowNs >= handOverMinNs }

    /// After a wait. `event`: something of the container's was ready (output, input,
    /// pause, OOM, DNS, the relay); `probeOnly`: only a probe's output or end was;
    /// `probeStarted`: a probe began now. True: idle in the next wait (no code runs between).
    mutating func afterWait(nowNs t: Int64, event: Bool, probeOnly: Bool, probeStarted: Bool, probeRunning: Bool) -> Bool {
        if event { lastEventNs = t }
        if event || probeStarted {
            releaseAtNs = t + Self.quietNs
        } else if probeOnly {
            // A probe's end is not waited out: nothing else is due before the next timer.
            releaseAtNs = probeRunning ? t + Self.quietNs : max(lastEventNs + Self.quietNs, t)
        }
        guard releaseAtNs > 0 && t >= releaseAtNs else { return false }
        releaseAtNs = 0
        return true
    }

    mutating func exited(nowNs: Int64) { drainUntilNs = nowNs + Self.drainNs }

    func drained(nowNs: Int64) -> Bool { nowNs >= drainUntilNs }
}
