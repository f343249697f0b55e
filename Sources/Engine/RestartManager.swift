/// Docker's restart manager as a value, with no clock of its own: after an exit, whether the
/// container starts again and after how long. The policy (no, always, unless-stopped,
/// on-failure[:N]); a backoff of 100 ms doubling to 1 min, back to the start after 10 s of
/// running; a restart `--health-on-failure=restart` asked for comes at once; a stop the user
/// asked for is never undone.
public struct RestartManager: Equatable, Codable {
    /// The wait before the last restart (0: none yet, or reset).
    public var backoffNs: Int64 = 0

    public static let firstBackoffNs: Int64 = 100_000_000
    public static let maxBackoffNs: Int64 = 60_000_000_000
    public static let resetAfterNs: Int64 = 10_000_000_000

    public init(backoffNs: Int64 = 0) { self.backoffNs = backoffNs }

    /// nil: it stays stopped; else the wait before it starts again.
    public mutating func afterExit(policy: Container.RestartPolicy, code: Int32, ranNs: Int64, restartCount: Int,
                                   forced: Bool, stopRequested: Bool) -> Int64? {
        if stopRequested { return nil }
        var restart = forced
        switch policy.Name {
        case "always", "unless-stopped": restart = true
        case "on-failure":
            if policy.MaximumRetryCount == 0 || restartCount < policy.MaximumRetryCount { restart = restart || code != 0 }
        default: break
        }
        guard restart else { return nil }
        if ranNs >= Self.resetAfterNs { backoffNs = 0 }
        backoffNs = forced ? 0 : backoffNs == 0 ? Self.firstBackoffNs : min(backoffNs * 2, Self.maxBackoffNs)
        return backoffNs
    }
}
