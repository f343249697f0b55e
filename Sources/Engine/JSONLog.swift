import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// Docker's json-file log driver: one `{"log":...,"stream":...,"time":...}` per line; a line
/// over 16 KiB is written as partial entries (no trailing "\n" in "log"), rotation by size
/// into path.1, path.2, ... Bounded by default (Docker's default is not).
public final class JSONLogWriter {
    public static let maxLine = 16 * 1024
    public static let defaultMaxSize = 20 * 1024 * 1024
    public static let defaultMaxFile = 5

    let path: String
    let maxSize: Int
    let maxFile: Int
    var fd: Int32 = -1
    var size = 0
    /// A line not ended yet, per stream (kept in place: no copy per write).
    var pendingOut: [UInt8] = [], pendingErr: [UInt8] = []
    var out: [UInt8] = []

    public init(path: String, maxSize: Int, maxFile: Int) throws {
        self.path = path
        self.maxSize = maxSize
        self.maxFile = max(1, maxFile)
        try open()
    }

    deinit { if fd >= 0 { close(fd) } }

    func open() throws {
        fd = try FD.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o640).release()
        size = Files.size(path)
    }

    /// Parses `--log-opt` values: max-size (bytes, or with k/m/g), max-file.
    public static func options(_ opts: [String: String]) throws -> (maxSize: Int, maxFile: Int) {
        var size = defaultMaxSize, files = defaultMaxFile
        for (k, v) in opts {
            switch k {
            case "max-size":
                guard let n = parseSize(v), n > 0 else { throw Failure("invalid --log-opt max-size=\(v): give a size such as 10m, 512k or 1g") }
                size = n
            case "max-file":
                guard let n = Int(v), n >= 1 else { throw Failure("invalid --log-opt max-file=\(v): give a number of files, at least 1") }
                files = n
            default:
                throw Failure("unknown log opt '\(k)' for the json-file log driver: use max-size or max-file")
            }
        }
        return (size, files)
    }

    /// "10m", "512k", "1g", "100" (bytes), Docker's units (powers of 1024).
    public static func parseSize(_ s: String) -> Int? {
        let lower = s.lowercased()
        let units: [(String, Int)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1 << 30), ("m", 1 << 20),
                                      ("k", 1 << 10), ("b", 1)]
        for (u, mult) in units where lower.hasSuffix(u) {
            guard let n = Double(lower.dropLast(u.count)), n >= 0 else { return nil }
            return Int(n * Double(mult))
        }
        return Int(lower)
    }

    /// Bytes read from the container's stdout or stderr.
    public func write(_ bytes: UnsafeRawBufferPointer, stream: String) {
        let tail = Self.tail(stream: stream, time: Time.rfc3339Nano())
        if stream == "stderr" { append(bytes, to: &pendingErr, tail: tail) }
        else { append(bytes, to: &pendingOut, tail: tail) }
        flush()
    }

    static let head: [UInt8] = Array(#"{"log":""#.utf8)

    /// What follows the text in every entry of one read: its stream and time, made once
    /// per read rather than once per line.
    static func tail(stream: String, time: String) -> [UInt8] {
        Array(#"","stream":""#.utf8) + Array(stream.utf8) + Array(#"","time":""#.utf8) + Array(time.utf8) + Array("\"}\n".utf8)
    }

    func append(_ bytes: UnsafeRawBufferPointer, to buf: inout [UInt8], tail: [UInt8]) {
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0a {
            if buf.isEmpty {
                entry(UnsafeRawBufferPointer(rebasing: bytes[start...i]), tail: tail)
            } else {
                buf.append(contentsOf: bytes[start...i])
                buf.withUnsafeBytes { entry($0, tail: tail) }
                buf.removeAll(keepingCapacity: true)
            }
            start = i + 1
        }
        buf.append(contentsOf: bytes[start...])
        if buf.count >= Self.maxLine {
            // Whole 16 KiB pieces go out as partial entries; the tail waits for its newline.
            let whole = buf.count - buf.count % Self.maxLine
            buf.withUnsafeBytes { entry(UnsafeRawBufferPointer(rebasing: $0[0..<whole]), tail: tail) }
            buf.removeFirst(whole)
        }
    }

    /// The stream ended: what is left is a last, partial line.
    public func finish() {
        let time = Time.rfc3339Nano()
        if !pendingOut.isEmpty { pendingOut.withUnsafeBytes { entry($0, tail: Self.tail(stream: "stdout", time: time)) } }
        if !pendingErr.isEmpty { pendingErr.withUnsafeBytes { entry($0, tail: Self.tail(stream: "stderr", time: time)) } }
        pendingOut = []
        pendingErr = []
        flush()
    }

    /// One entry per 16 KiB: Docker's partial messages.
    func entry(_ text: UnsafeRawBufferPointer, tail: [UInt8]) {
        var start = 0
        while text.count - start > Self.maxLine {
            oneEntry(UnsafeRawBufferPointer(rebasing: text[start..<start + Self.maxLine]), tail: tail)
            start += Self.maxLine
        }
        oneEntry(UnsafeRawBufferPointer(rebasing: text[start...]), tail: tail)
    }

    func oneEntry(_ text: UnsafeRawBufferPointer, tail: [UInt8]) {
        out.append(contentsOf: Self.head)
        JSONText.escape(text, into: &out)
        out.append(contentsOf: tail)
        if size + out.count > maxSize && size > 0 { flush(rotateFirst: true) }
    }

    func flush(rotateFirst: Bool = false) {
        if rotateFirst {
            // Everything but the entry just added goes to the current file, then rotate.
            if let last = out.dropLast().lastIndex(of: 0x0a) {
                let head = Array(out[...last])
                out.removeFirst(head.count)
                writeAll(head)
            }
            rotate()
        }
        if !out.isEmpty {
            writeAll(out)
            out.removeAll(keepingCapacity: true)
        }
    }

    func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { b in
            var off = 0
            while off < b.count {
                let n = Glibc.write(fd, b.baseAddress! + off, b.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    return // a full disk loses log lines, never the container
                }
                off += n
            }
        }
        size += bytes.count
    }

    func rotate() {
        close(fd)
        if maxFile > 1 {
            for i in stride(from: maxFile - 1, through: 1, by: -1) {
                let from = i == 1 ? path : "\(path).\(i - 1)"
                rename(from, "\(path).\(i)")
            }
        } else {
            unlink(path)
        }
        fd = (try? FD.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, mode: 0o640).release()) ?? -1
        size = 0
    }
}

/// Reads json-file logs: the entries of one file, parsed without a general JSON decoder
/// (the shape is fixed, ours, and the files are big): 2.2x faster than JSON.parse per line
/// (`swiftrun debug parse-log [--tree]`, docs/benchmarks.md).
public enum JSONLogReader {
    public struct Entry {
        public var log: [UInt8]
        public var stderr: Bool
        public var time: String
    }

    public static func parse(_ line: ArraySlice<UInt8>) -> Entry? {
        guard let logStart = find(line, #""log":""#) else { return nil }
        let (log, i) = JSONText.unescapeLenient(line, from: logStart)
        let rest = line[i...]
        let stderr = find(rest, #""stream":"stderr""#) != nil
        var time = ""
        if let t = find(rest, #""time":""#), let end = rest[t...].firstIndex(of: 0x22) {
            time = String(decoding: rest[t..<end], as: UTF8.self)
        }
        return Entry(log: log, stderr: stderr, time: time)
    }

    /// The index just after `needle` in `hay`.
    static func find(_ hay: ArraySlice<UInt8>, _ needle: String) -> Int? {
        let n = Array(needle.utf8)
        guard hay.count >= n.count else { return nil }
        var i = hay.startIndex
        while i + n.count <= hay.endIndex {
            if hay[i] == n[0] && hay[i..<i + n.count].elementsEqual(n) { return i + n.count }
            i += 1
        }
        return nil
    }

    /// Where the last `n` lines of the file start, and how many lines were found (fewer
    /// than n: the file starts there). Read backwards in blocks: the cost depends on n,
    /// not on the file's size.
    public static func tailOffset(fd: Int32, lines n: Int) -> (offset: Int, found: Int) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return (0, 0) }
        let end = Int(st.st_size)
        guard n > 0, end > 0 else { return (end, 0) }
        var count = 0
        var block = [UInt8](repeating: 0, count: 64 * 1024)
        var pos = end
        var first = true
        while pos > 0 {
            let len = min(block.count, pos)
            pos -= len
            let got = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress, len, off_t(pos)) }
            guard got == len else { return (0, count) }
            var i = len - 1
            if first { // the file's last byte ends the last line
                if block[i] == 0x0a { i -= 1 }
                first = false
            }
            while i >= 0 {
                if block[i] == 0x0a {
                    count += 1
                    if count == n { return (pos + i + 1, count) }
                }
                i -= 1
            }
        }
        return (0, count + 1)
    }

    /// Unix nanoseconds of an RFC 3339 time ("2026-11-23T10:00:00.123456789Z", or with an
    /// offset such as +02:00).
    public static func parseTime(_ s: String) -> Int64? {
        let u = Array(s.utf8)
        func num(_ a: Int, _ b: Int) -> Int? {
            guard b <= u.count, a < b else { return nil }
            var v = 0
            for c in u[a..<b] { guard c >= 0x30 && c <= 0x39 else { return nil }; v = v * 10 + Int(c - 0x30) }
            return v
        }
        guard u.count >= 19, u[4] == 0x2d, u[7] == 0x2d, u[10] == 0x54 || u[10] == 0x20, u[13] == 0x3a, u[16] == 0x3a,
              let y = num(0, 4), let mo = num(5, 7), let d = num(8, 10), let h = num(11, 13), let mi = num(14, 16),
              let sec = num(17, 19) else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < u.count && u[i] == 0x2e {
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 0x30 && u[i] <= 0x39 {
                if digits < 9 { frac = frac * 10 + Int64(u[i] - 0x30); digits += 1 }
                i += 1
            }
            while digits < 9 { frac *= 10; digits += 1 }
        }
        var offset = 0
        if i < u.count && (u[i] == 0x2b || u[i] == 0x2d) {
            guard let oh = num(i + 1, i + 3), let om = num(i + 4, i + 6) else { return nil }
            offset = (oh * 60 + om) * 60 * (u[i] == 0x2b ? 1 : -1)
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let secs = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + sec) - Int64(offset)
        return secs * 1_000_000_000 + frac
    }
}

/// `logs -f`: reads a json-file log as it grows, across rotation, by fd. A rotated file is
/// complete (the writer closes it before the rename), so the follower reads the rest of the
/// one it has open, then every generation that came after it (several rotations may pass
/// between two reads), oldest first, then the new current file. Only a generation rotated
/// out entirely (beyond max-file) before it was opened is lost, as it is to everyone.
public final class JSONLogFollower {
    let base: String
    var current: FD
    var offset: Int

    /// `fd` is `base` as opened, read up to `offset` already.
    public init(base: String, fd: FD, offset: Int) {
        self.base = base
        current = fd
        self.offset = offset
    }

    /// Reads what is new through `copy(fd, from)`, which returns the offset after the last
    /// whole line it read. True if anything moved.
    public func poll(_ copy: (Int32, Int) -> Int) -> Bool {
        let start = offset
        offset = copy(current.raw, offset)
        guard let (next, newer) = rotatedSince() else { return offset != start }
        _ = copy(current.raw, offset) // what was written before the rotation
        for fd in newer { _ = copy(fd.raw, 0) }
        current = next
        offset = copy(current.raw, 0)
        return true
    }

    /// nil while `base` is still the file we read; else the new current file and the rotated
    /// generations after ours, oldest first.
    func rotatedSince() -> (FD, [FD])? {
        let ours = Self.inode(current.raw)
        var st = stat()
        guard stat(base, &st) == 0, UInt64(st.st_ino) != ours else { return nil } // the common case: one stat
        guard let (cur, rotated) = Self.snapshot(base), Self.inode(cur.raw) != ours else { return nil }
        // Ours among them: the ones before it are newer. Gone (rotated out): all are.
        let k = rotated.firstIndex { Self.inode($0.raw) == ours } ?? rotated.count
        return (cur, Array(rotated[..<k].reversed()))
    }

    /// Every file of the log, oldest first, the current one last: opened as one consistent
    /// snapshot, so that a rotation while we look neither skips nor repeats a file.
    public static func openAll(_ base: String) -> [FD] {
        guard let (cur, rotated) = snapshot(base) else { return [] }
        return rotated.reversed() + [cur]
    }

    /// The current file and the rotated ones (base.1, base.2, ...: newest first), taken again
    /// if the writer rotated while we opened them (the current file then changed). A rotation
    /// renames base.N-1 to base.N down to base to base.1, so while we look one number may be
    /// missing (moved up: the scan goes past one gap) and one file may be met twice (under its
    /// old number, then its new one: the second is skipped).
    static func snapshot(_ base: String) -> (FD, [FD])? {
        for _ in 0..<100 {
            guard let cur = try? FD.open(base, O_RDONLY | O_CLOEXEC) else { return nil }
            var rotated: [FD] = []
            var seen: Set<UInt64> = [inode(cur.raw)]
            var n = 1, misses = 0
            while misses < 2 {
                if let fd = try? FD.open("\(base).\(n)", O_RDONLY | O_CLOEXEC) {
                    misses = 0
                    if seen.insert(inode(fd.raw)).inserted { rotated.append(fd) }
                } else {
                    misses += 1
                }
                n += 1
            }
            var st = stat()
            if stat(base, &st) == 0 && UInt64(st.st_ino) == inode(cur.raw) { return (cur, rotated) }
        }
        return nil
    }

    static func inode(_ fd: Int32) -> UInt64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? UInt64(st.st_ino) : 0
    }
}
