import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// One reading of a running container's counters, from its cgroup and its netns. A
/// counter the host cannot give (a controller bound to cgroup v1) is nil.
public struct StatsSample {
    public var timeNs: Int64 = Time.monotonicNanos()
    public var cpuUsec: UInt64?
    /// memory.current less inactive file pages (Docker's "usage"); on a host without the
    /// v2 memory controller, the summed PSS of the container's processes.
    public var memUsage: UInt64?
    /// memory.max, or the host's memory when there is no limit.
    public var memLimit: UInt64?
    public var memLimited = false
    public var pids: UInt64?
    public var blkRead: UInt64?, blkWrite: UInt64?
    public var netRx: UInt64?, netTx: UInt64?
}

extension Engine {
    /// Reads the counters of a running container (nil when it is not running).
    public func stats(_ v: ContainerView) -> StatsSample? {
        guard v.state.Running || v.state.Paused, let rec = try? runtime.load(v.container.Id) else { return nil }
        let dir = rec.cgroupMount + rec.cgroupPath
        func read(_ f: String) -> String? { try? Files.readString(dir + "/" + f) }
        func keyed(_ text: String?, _ key: String) -> UInt64? {
            guard let text else { return nil }
            for line in text.split(separator: "\n") {
                let kv = line.split(separator: " ")
                if kv.count == 2 && kv[0] == key { return UInt64(kv[1]) }
            }
            return nil
        }
        var s = StatsSample()
        s.cpuUsec = keyed(read("cpu.stat"), "usage_usec")
        if let cur = read("memory.current").flatMap({ UInt64($0.trimmed()) }) {
            let inactive = keyed(read("memory.stat"), "inactive_file") ?? 0
            s.memUsage = cur > inactive ? cur - inactive : cur
            if let max = read("memory.max")?.trimmed(), let m = UInt64(max) {
                s.memLimit = m
                s.memLimited = true
            }
        } else {
            s.memUsage = Self.pss(processesIn: dir)
        }
        if s.memLimit == nil { s.memLimit = Self.hostMemory() }
        s.pids = read("pids.current").flatMap { UInt64($0.trimmed()) } ?? Self.threads(in: dir)
        if let io = read("io.stat") {
            var r: UInt64 = 0, w: UInt64 = 0
            for line in io.split(separator: "\n") {
                for f in line.split(separator: " ") {
                    if f.hasPrefix("rbytes=") { r += UInt64(f.dropFirst(7)) ?? 0 }
                    if f.hasPrefix("wbytes=") { w += UInt64(f.dropFirst(7)) ?? 0 }
                }
            }
            (s.blkRead, s.blkWrite) = (r, w)
        }
        // The host's own interfaces are not the container's traffic.
        if v.container.networkMode != "host", v.state.Pid > 0, let dev = try? Files.readString("/proc/\(v.state.Pid)/net/dev") {
            var rx: UInt64 = 0, tx: UInt64 = 0
            for line in dev.split(separator: "\n").dropFirst(2) {
                guard let colon = line.firstIndex(of: ":") else { continue }
                if line[..<colon].trimmed() == "lo" { continue }
                let f = line[line.index(after: colon)...].split(separator: " ")
                if f.count >= 9 { rx += UInt64(f[0]) ?? 0; tx += UInt64(f[8]) ?? 0 }
            }
            (s.netRx, s.netTx) = (rx, tx)
        }
        return s
    }

    static func hostMemory() -> UInt64? {
        guard let m = try? Files.readString("/proc/meminfo") else { return nil }
        for line in m.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            return line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// Threads in a cgroup and the cgroups below it (health probes run in one).
    static func threads(in dir: String) -> UInt64 {
        var n = UInt64((try? Files.readString(dir + "/cgroup.threads"))?.split(separator: "\n").count ?? 0)
        for e in (try? Files.list(dir)) ?? [] where Files.isDirectory(dir + "/" + e) { n += threads(in: dir + "/" + e) }
        return n
    }

    /// Proportional set size of the processes in a cgroup tree: shared pages counted once.
    static func pss(processesIn dir: String) -> UInt64? {
        var total: UInt64 = 0
        var any = false
        func walk(_ d: String) {
            for p in ((try? Files.readString(d + "/cgroup.procs")) ?? "").split(separator: "\n") {
                guard let r = try? Files.readString("/proc/\(p)/smaps_rollup") else { continue }
                for line in r.split(separator: "\n") where line.hasPrefix("Pss:") {
                    total += (line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0) * 1024
                    any = true
                }
            }
            for e in (try? Files.list(d)) ?? [] where Files.isDirectory(d + "/" + e) { walk(d + "/" + e) }
        }
        walk(dir)
        return any ? total : nil
    }
}
