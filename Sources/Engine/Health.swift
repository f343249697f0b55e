import OCI

/// Docker's health-check semantics (moby daemon/health.go is the reference), as pure values:
/// the configuration from image + flags, and the status machine the supervisor drives.
public enum Health {
    public static let defaultInterval: Int64 = 30_000_000_000
    public static let defaultTimeout: Int64 = 30_000_000_000
    public static let defaultStartInterval: Int64 = 5_000_000_000
    public static let defaultRetries = 3
    public static let minimumDuration: Int64 = 1_000_000   // 1 ms
    public static let maxLogEntries = 5
    public static let maxOutputLen = 4096

    /// `--health-*` flags; nil leaves the image's value.
    public struct Overrides: Equatable {
        public var cmd: String?
        /// The whole test (["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]): compose's form.
        public var test: [String]?
        public var interval: Int64?
        public var timeout: Int64?
        public var startPeriod: Int64?
        public var startInterval: Int64?
        public var retries: Int?
        public var disable = false
        public init() {}
        var any: Bool { cmd != nil || test != nil || interval != nil || timeout != nil || startPeriod != nil || startInterval != nil || retries != nil }
    }

    public struct ConfigError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The image's Healthcheck overridden field by field. nil: no health check (none in
    /// the image, `--no-healthcheck`, or Test ["NONE"]).
    public static func resolve(_ image: ImageConfig.Healthcheck?, _ o: Overrides,
                               warn: (String) -> Void = { _ in }) throws -> ImageConfig.Healthcheck? {
        if o.disable {
            if o.any { throw ConfigError(description: "--no-healthcheck conflicts with --health-* options") }
            return nil
        }
        for (name, v) in [("interval", o.interval), ("timeout", o.timeout), ("start-period", o.startPeriod),
                          ("start-interval", o.startInterval)] {
            if let v, v < 0 { throw ConfigError(description: "--health-\(name) cannot be negative") }
        }
        if let r = o.retries, r < 0 { throw ConfigError(description: "--health-retries cannot be negative") }
        var h = image ?? ImageConfig.Healthcheck(Test: nil, Interval: nil, Timeout: nil, StartPeriod: nil, StartInterval: nil, Retries: nil)
        if let c = o.cmd { h.Test = ["CMD-SHELL", c] }
        if let t = o.test { h.Test = t }
        if let v = o.interval { h.Interval = v }
        if let v = o.timeout { h.Timeout = v }
        if let v = o.startPeriod { h.StartPeriod = v }
        if let v = o.startInterval { h.StartInterval = v }
        if let v = o.retries { h.Retries = v }
        // The daemon's checks (the image's values too): 0 means default, else at least 1 ms.
        for (name, v) in [("Interval", h.Interval), ("Timeout", h.Timeout), ("StartPeriod", h.StartPeriod),
                          ("StartInterval", h.StartInterval)] {
            if let v, v != 0, v < minimumDuration {
                throw ConfigError(description: "\(name) in Healthcheck cannot be less than 1ms")
            }
        }
        if let r = h.Retries, r < 0 { throw ConfigError(description: "Retries in Healthcheck cannot be negative") }
        guard let test = h.Test, let kind = test.first, kind != "NONE" else { return nil }
        switch kind {
        case "CMD", "CMD-SHELL":
            guard test.count > 1 else { throw ConfigError(description: "Healthcheck \(kind) needs a command") }
        default:
            warn("unknown health check type \(kind) (expected CMD, CMD-SHELL or NONE): health check disabled")
            return nil
        }
        return h
    }

    /// The effective timings of a resolved Healthcheck.
    public struct Timing: Equatable {
        public var interval: Int64, timeout: Int64, startPeriod: Int64, startInterval: Int64, retries: Int
        public init(_ h: ImageConfig.Healthcheck) {
            func or(_ v: Int64?, _ d: Int64) -> Int64 { (v ?? 0) == 0 ? d : v! }
            interval = or(h.Interval, defaultInterval)
            timeout = or(h.Timeout, defaultTimeout)
            startPeriod = h.StartPeriod ?? 0
            startInterval = or(h.StartInterval, defaultStartInterval)
            retries = (h.Retries ?? 0) == 0 ? defaultRetries : h.Retries!
        }
    }

    /// The probe's argv: exec form, or the shell form with the image's SHELL.
    public static func probeArgs(_ test: [String], shell: [String]) -> [String] {
        if test.first == "CMD-SHELL" { return (shell.isEmpty ? ["/bin/sh", "-c"] : shell) + [test.dropFirst().joined(separator: " ")] }
        return Array(test.dropFirst())
    }

    /// A timed-out probe's Output, as moby words it.
    public static func timeoutOutput(_ timeout: Int64, partial: String) -> String {
        let t = GoDuration.format(timeout)
        return partial.isEmpty ? "Health check exceeded timeout (\(t))" : "Health check exceeded timeout (\(t)): \(partial)"
    }

    /// Keeps the first 4096 bytes of a probe's output, and says so with "...".
    public static func output(_ bytes: [UInt8], truncated: Bool) -> String {
        let s = String(decoding: bytes.prefix(maxOutputLen), as: UTF8.self)
        return truncated || bytes.count > maxOutputLen ? s + "..." : s
    }
}

/// `State.Health` as Docker's inspect shows it.
/// Docker's health states; its words appear only when encoded.
public enum HealthStatus: String, Codable, Sendable {
    case starting, healthy, unhealthy
}

public struct HealthState: Codable, Equatable {
    public var Status: HealthStatus
    public var FailingStreak: Int
    public var Log: [HealthResult]
    public init(Status: HealthStatus = .starting, FailingStreak: Int = 0, Log: [HealthResult] = []) {
        self.Status = Status
        self.FailingStreak = FailingStreak
        self.Log = Log
    }
}

public struct HealthResult: Codable, Equatable {
    public var Start: String
    public var End: String
    public var ExitCode: Int
    public var Output: String
    public init(Start: String, End: String, ExitCode: Int, Output: String) {
        self.Start = Start
        self.End = End
        self.ExitCode = ExitCode
        self.Output = Output
    }
}

/// The status machine: results in, status and streak out; and when the next probe runs.
public struct HealthMonitor: Equatable {
    public var timing: Health.Timing
    public var state: HealthState
    /// When the container (re)started: the start period counts from here.
    public var startedNs: Int64

    public init(timing: Health.Timing, state: HealthState = HealthState(), startedNs: Int64) {
        self.timing = timing
        self.state = state
        self.startedNs = startedNs
    }

    /// The wait before the next probe, counted from the end of the previous one (or from
    /// the start). The start interval applies only while starting inside a start period.
    public func nextWait(nowNs: Int64) -> Int64 {
        if timing.startPeriod > 0 && state.Status == .starting && nowNs - startedNs < timing.startPeriod {
            return timing.startInterval
        }
        return timing.interval
    }

    /// Records a result; returns the new status if it changed.
    @discardableResult
    public mutating func record(_ r: HealthResult, startNs: Int64) -> HealthStatus? {
        let before = state.Status
        state.Log.append(r)
        if state.Log.count > Health.maxLogEntries { state.Log.removeFirst(state.Log.count - Health.maxLogEntries) }
        if r.ExitCode == 0 {
            state.FailingStreak = 0
            state.Status = .healthy
        } else if !(state.Status == .starting && startNs - startedNs < timing.startPeriod) {
            // A failure counts unless the container is still starting inside its start period.
            state.FailingStreak += 1
            if state.FailingStreak >= timing.retries { state.Status = .unhealthy }
        }
        return state.Status == before ? nil : state.Status
    }

    /// A (re)start: `starting` and streak 0; the log is kept.
    public mutating func restarted(atNs: Int64) {
        state.Status = .starting
        state.FailingStreak = 0
        startedNs = atNs
    }
}

/// Go's time.Duration syntax, which Docker's flags use: "1s", "1.5s", "500ms", "1m30s".
public enum GoDuration {
    public static func parse(_ s: String) -> Int64? {
        if s == "0" { return 0 }
        var rest = Substring(s)
        var negative = false
        if rest.hasPrefix("-") { negative = true; rest.removeFirst() } else if rest.hasPrefix("+") { rest.removeFirst() }
        guard !rest.isEmpty else { return nil }
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var total = 0.0
        while !rest.isEmpty {
            let num = rest.prefix { $0.isNumber || $0 == "." }
            guard !num.isEmpty, let v = Double(num) else { return nil }
            rest = rest.dropFirst(num.count)
            let unit = rest.prefix { !$0.isNumber && $0 != "." }
            guard let u = units.first(where: { $0.0 == unit }) else { return nil }
            rest = rest.dropFirst(unit.count)
            total += v * u.1
        }
        guard total < 9.2e18 else { return nil }
        return Int64((negative ? -total : total).rounded())
    }

    /// Go's Duration.String(): "1s", "1.5s", "500ms", "1m30s", "1h0m0s".
    public static func format(_ d: Int64) -> String {
        if d == 0 { return "0s" }
        let neg = d < 0
        let u = UInt64(d.magnitude)
        func frac(_ v: UInt64, _ digits: Int) -> String {
            // v in units of 10^-digits, trailing zeros dropped.
            let whole = v / pow10(digits), part = v % pow10(digits)
            guard part != 0 else { return String(whole) }
            var p = String(part)
            p = String(repeating: "0", count: digits - p.count) + p
            while p.hasSuffix("0") { p.removeLast() }
            return "\(whole).\(p)"
        }
        let out: String
        if u < 1_000 { out = "\(u)ns" }
        else if u < 1_000_000 { out = frac(u, 3) + "µs" }
        else if u < 1_000_000_000 { out = frac(u, 6) + "ms" }
        else {
            let h = u / 3_600_000_000_000, m = (u / 60_000_000_000) % 60, sNs = u % 60_000_000_000
            let secs = frac(sNs, 9) + "s"
            out = h > 0 ? "\(h)h\(m)m\(secs)" : m > 0 ? "\(m)m\(secs)" : secs
        }
        return neg ? "-" + out : out
    }

    static func pow10(_ n: Int) -> UInt64 { (0..<n).reduce(1) { a, _ in a * 10 } }
}
