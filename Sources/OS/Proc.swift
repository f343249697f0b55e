#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Facts about a process from /proc, used to tell a live container from a reused pid.
public enum Proc {
    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), and the state letter.
    public static func stat(_ pid: Int32) -> (startTime: UInt64, state: Character)? {
        guard let text = try? Files.readString("/proc/\(pid)/stat"),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "comm)": state is field 3, starttime field 22.
        let rest = text[text.index(after: close)...].split(separator: " ")
        guard rest.count > 19, let st = rest[0].first, let start = UInt64(rest[19]) else { return nil }
        return (start, st)
    }

    nonisolated(unsafe) private static var mark: Double?

    /// Starts the clock of sinceStartMs (call first thing in main): /proc's start time
    /// counts in clock ticks (10 ms here), too coarse for phases of a few milliseconds.
    public static func markStart() { mark = monotonicSeconds() }

    private static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Milliseconds since main began (markStart), else since the process started in clock
    /// ticks (for --debug phase timings).
    public static func sinceStartMs() -> String {
        if let mark {
            let ms = (monotonicSeconds() - mark) * 1000
            return String(Double(Int(ms * 100)) / 100)
        }
        guard let st = stat(getpid()) else { return "?" }
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let now = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        let ms = (now - Double(st.startTime) / hz) * 1000
        return String(Int(ms.rounded()))
    }

    /// This process's children, from every thread's /proc/self/task/TID/children (an orphan
    /// given to a subreaper becomes the child of one of its threads).
    public static func children() -> [Int32] {
        guard let d = opendir("/proc/self/task") else { return [] }
        defer { closedir(d) }
        var out: [Int32] = []
        while let e = readdir(d) {
            let tid = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard Int32(tid) != nil, let text = try? Files.readString("/proc/self/task/\(tid)/children") else { continue }
            out += text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        }
        return out
    }

    /// True if PID is the process that started at `startTime` and has not exited.
    public static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard pid > 0, let s = stat(pid) else { return false }
        return s.startTime == startTime && s.state != "Z" && s.state != "X"
    }
    /// Who holds a local port (`proto` tcp or udp): a socket bound to it in /proc/net/*, then
    /// the process with that socket open. For "port is already allocated" messages; nil when
    /// the holder is in another network namespace or cannot be seen.
    public static func portHolder(_ port: Int, proto: String) -> (pid: Int32, comm: String)? {
        var inodes = Set<String>()
        for table in ["/proc/net/\(proto)", "/proc/net/\(proto)6"] {
            guard let text = try? Files.readString(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                guard f.count > 9, let colon = f[1].lastIndex(of: ":"), Int(f[1][f[1].index(after: colon)...], radix: 16) == port else { continue }
                // TCP: the listener (state 0A) or a bound socket; UDP: any bound socket.
                if proto == "tcp" && f[3] != "0A" && f[3] != "07" { continue }
                if f[9] != "0" { inodes.insert(String(f[9])) }
            }
        }
        guard !inodes.isEmpty, let pids = try? Files.list("/proc") else { return nil }
        for p in pids {
            // Not the asking process (it may hold an inherited copy of the socket).
            guard let pid = Int32(p), pid != getpid(), let fds = try? Files.list("/proc/\(p)/fd") else { continue }
            for fd in fds {
                guard let target = try? Files.readlink("/proc/\(p)/fd/\(fd)"), target.hasPrefix("socket:["),
                      inodes.contains(String(target.dropFirst(8).dropLast())) else { continue }
                return (pid, ((try? Files.readString("/proc/\(p)/comm")) ?? "?").trimmed())
            }
        }
        return nil
    }
}

public enum Signals {
    static let names: [String: Int32] = {
        var m: [String: Int32] = [:]
        for sig in 1..<32 {
            if let n = sr_signal_name(Int32(sig)) { m[String(cString: n)] = Int32(sig) }
        }
        return m
    }()

    /// Parses "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3".
    public static func parse(_ s: String) -> Int32? {
        if let n = Int32(s), n > 0, n < 65 { return n }
        var name = s.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let n = names[name] { return n }
        if name.hasPrefix("RTMIN") {
            let off = name.dropFirst(5)
            let base: Int32 = 34
            if off.isEmpty { return base }
            if off.hasPrefix("+"), let k = Int32(off.dropFirst()), base + k <= 64 { return base + k }
        }
        if name.hasPrefix("RTMAX") {
            let off = name.dropFirst(5)
            if off.isEmpty { return 64 }
            if off.hasPrefix("-"), let k = Int32(off.dropFirst()), 64 - k >= 34 { return 64 - k }
        }
        return nil
    }

}
