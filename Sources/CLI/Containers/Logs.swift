import ArgumentParser
import Engine
import OS
#if canImport(Glibc)
import Glibc
#endif

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a container's output (stdout to stdout, stderr to stderr).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Follow the log until the container stops.") var follow = false
    @Option(name: [.customShort("n"), .customLong("tail")], help: "Lines from the end (a number, or all).") var tail = "all"
    @Option(help: "Only entries since a time: RFC 3339, Unix seconds, or a duration ago (10m).") var since: String?
    @Option(help: "Only entries before a time (same forms as --since).") var until: String?
    @Flag(name: [.short, .long], help: "Prefix each line with its time.") var timestamps = false
    @Argument(help: "Container (name or ID).") var container: String

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            let id = try engine.resolve(container)
            let sinceNs = try since.map { try Self.time($0, "since") }
            let untilNs = try until.map { try Self.time($0, "until") }
            var n = -1
            if tail != "all" {
                guard let v = Int(tail), v >= 0 else { throw Failure("invalid --tail \(tail): give a number or all") }
                n = v
            }
            let base = engine.logPath(id)
            var out = Output(timestamps: timestamps, since: sinceNs, until: untilNs)
            // Rotated files first (oldest first), then the current one; --tail reads backwards.
            let files = JSONLogFollower.openAll(base)
            var segments: [(fd: FD, offset: Int)] = []
            var remaining = n
            for fd in files.reversed() where remaining != 0 {
                if remaining < 0 { segments.append((fd, 0)); continue }
                let t = JSONLogReader.tailOffset(fd: fd.raw, lines: remaining)
                segments.append((fd, t.offset))
                remaining -= min(remaining, t.found)
            }
            var currentEnd = files.last.map { Files.size(fd: $0.raw) } ?? 0
            for (fd, off) in segments.reversed() {
                let end = out.copy(fd.raw, from: off)
                if fd === files.last { currentEnd = end }
            }
            out.flush()
            guard follow else { return }
            guard let current = files.last ?? (try? FD.open(base, O_RDONLY | O_CLOEXEC)) else { return }
            // Follow: new bytes, across rotation, until the supervisor is gone; no pause while
            // there is more to read, so that a fast writer's rotations do not outrun us.
            let follower = JSONLogFollower(base: base, fd: current, offset: currentEnd)
            while true {
                let alive = Engine.supervisorAlive(engine.loadState(id))
                let moved = follower.poll { out.copy($0, from: $1) }
                out.flush()
                if !alive { break }
                if !moved { usleep(20_000) }
            }
        }
    }

    static func time(_ s: String, _ flag: String) throws -> Int64 {
        if let t = JSONLogReader.parseTime(s) { return t }
        if let secs = Double(s) { return Int64(secs * 1e9) }
        if let d = GoDuration.parse(s) { return Time.nowNanos() - d }
        throw Failure("invalid --\(flag) \(s): give an RFC 3339 time, Unix seconds, or a duration such as 10m")
    }

    /// Parses whole lines from a file and writes the entries to stdout/stderr.
    struct Output {
        var timestamps: Bool
        var since: Int64?
        var until: Int64?
        var out: [UInt8] = []
        var err: [UInt8] = []

        /// Reads from `from` to the end; returns the offset after the last whole line.
        mutating func copy(_ fd: Int32, from: Int) -> Int {
            var off = from
            var buf = [UInt8](repeating: 0, count: 256 * 1024)
            var carry: [UInt8] = []
            while true {
                let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(off + carry.count)) }
                if n <= 0 { break }
                carry += buf[0..<n]
                var start = 0
                while let nl = carry[start...].firstIndex(of: 0x0a) {
                    emit(carry[start..<nl])
                    start = nl + 1
                }
                off += start
                carry.removeFirst(start)
                if out.count + err.count > 1 << 20 { flush() }
            }
            return off
        }

        mutating func emit(_ line: ArraySlice<UInt8>) {
            guard let e = JSONLogReader.parse(line) else { return }
            if since != nil || until != nil {
                let t = JSONLogReader.parseTime(e.time) ?? 0
                if let s = since, t < s { return }
                if let u = until, t >= u { return }
            }
            var text: [UInt8] = []
            if timestamps { text = Array(e.time.utf8) + [0x20] }
            text += e.log
            // Keep the order between the two streams.
            if e.stderr != lastStderr { flush() }
            lastStderr = e.stderr
            if e.stderr { err += text } else { out += text }
        }
        var lastStderr = false

        mutating func flush() {
            for (fd, b) in [(Int32(1), out), (Int32(2), err)] where !b.isEmpty {
                b.withUnsafeBytes { p in
                    var o = 0
                    while o < p.count {
                        let n = write(fd, p.baseAddress! + o, p.count - o)
                        if n <= 0 { if errno == EINTR { continue }; return }
                        o += n
                    }
                }
            }
            out.removeAll(keepingCapacity: true)
            err.removeAll(keepingCapacity: true)
        }
    }
}
