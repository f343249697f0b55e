#if canImport(Glibc)
import Glibc
#endif

public enum Time {
    /// Nanoseconds since the epoch (CLOCK_REALTIME).
    public static func nowNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    public static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// RFC 3339 with nanoseconds in UTC, as Docker and runc print: 2026-11-23T08:28:48.123456789Z
    public static func rfc3339Nano(_ nanos: Int64 = nowNanos()) -> String {
        var t = time_t(nanos / 1_000_000_000)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        let frac = String(nanos % 1_000_000_000)
        let fracPadded = String(repeating: "0", count: 9 - frac.count) + frac
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(fracPadded)Z"
    }
}
