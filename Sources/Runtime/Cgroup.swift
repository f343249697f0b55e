import CShim
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// A container's cgroup in the cgroup2 hierarchy. On a hybrid host (v1 controllers,
/// cgroup2 at /sys/fs/cgroup/unified) only what is delegated to v2 can be limited;
/// everything else fails with an error naming the controller. Never touches v1.
public struct Cgroup {
    /// Mount point of the cgroup2 hierarchy.
    public let mountpoint: String
    /// Path below the mountpoint, starting with "/".
    public let path: String

    public var dir: String { mountpoint + path }

    public init(mountpoint: String, path: String) {
        self.mountpoint = mountpoint
        self.path = path
    }

    /// Finds the cgroup2 mount: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on hybrid.
    public static func findMountpoint() throws -> String {
        // The usual places first: statfs is two syscalls, the mountinfo scan 0.4 ms.
        for p in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            if sr_fs_type(p) == 0x6367_7270 { return p } // CGROUP2_SUPER_MAGIC
        }
        let info = try Files.readString("/proc/self/mountinfo")
        var found: [String] = []
        for line in info.split(separator: "\n") {
            guard let sep = line.firstRange(of: " - ") else { continue }
            let fstype = line[sep.upperBound...].split(separator: " ").first ?? ""
            if fstype == "cgroup2" {
                let fields = line[..<sep.lowerBound].split(separator: " ")
                if fields.count > 4 { found.append(unescape(String(fields[4]))) }
            }
        }
        if found.contains("/sys/fs/cgroup") { return "/sys/fs/cgroup" }
        if let f = found.first(where: { $0.hasPrefix("/sys/fs/cgroup") }) ?? found.first { return f }
        throw Failure("no cgroup2 hierarchy is mounted (looked in /proc/self/mountinfo): mount one at /sys/fs/cgroup or /sys/fs/cgroup/unified")
    }

    static func unescape(_ s: String) -> String {
        s.replacing("\\040", with: " ")
    }

    /// linux.cgroupsPath → a path in the hierarchy. Empty: /swiftrun/<id>. "slice:prefix:name"
    /// (systemd form, as the callers pass with --systemd-cgroup) is where systemd keeps that
    /// unit: the slice expanded by its dashes, as runc does (kubepods-besteffort.slice is
    /// /kubepods.slice/kubepods-besteffort.slice), then prefix-name.scope.
    public static func resolvePath(_ cgroupsPath: String?, id: String) throws -> String {
        var p = cgroupsPath ?? ""
        if p.isEmpty { p = Self.defaultParent + "/\(id)" }
        let parts = p.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 3 && !p.hasPrefix("/") {
            let slice = try expandSlice(parts[0].isEmpty ? "system.slice" : String(parts[0]))
            let unit = parts[2].hasSuffix(".slice") ? String(parts[2]) : "\(parts[1])-\(parts[2]).scope"
            p = (slice == "/" ? "" : slice) + "/" + unit
        }
        if !p.hasPrefix("/") { p = Self.defaultParent + "/" + p }
        let comps = p.split(separator: "/")
        guard !comps.isEmpty else { throw Failure("cgroupsPath \(p): the root cgroup cannot hold a container") }
        for c in comps where c == ".." || c == "." {
            throw Failure("cgroupsPath \(p): '.' and '..' are not allowed")
        }
        return "/" + comps.joined(separator: "/")
    }

    /// systemd's slice name → its path: a-b.slice is /a.slice/a-b.slice; -.slice is the root.
    static func expandSlice(_ slice: String) throws -> String {
        let bad = Failure("cgroupsPath: invalid slice name \"\(slice)\" (systemd's: NAME.slice, dashes for nesting)")
        guard slice.hasSuffix(".slice"), slice.count > 6, !slice.contains("/") else { throw bad }
        let name = slice.dropLast(6)
        if name == "-" { return "/" }
        var path = "", prefix = ""
        for c in name.split(separator: "-", omittingEmptySubsequences: false) {
            guard !c.isEmpty else { throw bad }
            path += "/" + prefix + c + ".slice"
            prefix += c + "-"
        }
        return path
    }

    /// Creates the cgroup (mkdir -p) and returns the directories made, for cleanup on failure.
    public func create() throws -> [String] {
        // A concurrent remove may rmdir the shared /swiftrun parent between our two mkdirs.
        for _ in 0..<10 {
            do { return try Files.mkdirAll(dir) } catch let e as SysError where e.errno == ENOENT || e.errno == ENOTDIR { continue }
        }
        return try Files.mkdirAll(dir)
    }

    /// The parent swiftrun owns for default paths (/swiftrun/<id>). Containers share it, so
    /// the one that created it is not always the last to leave: every remove tries it.
    static let defaultParent = "/swiftrun"

    public func openDir() throws -> FD {
        try FD.open(dir, O_RDONLY | O_DIRECTORY)
    }

    func read(_ file: String) -> String? {
        (try? Files.readString(dir + "/" + file))?.trimmed()
    }

    func write(_ file: String, _ value: String) throws {
        let p = dir + "/" + file
        let fd = sr_open_cloexec(p, O_WRONLY, 0)
        guard fd >= 0 else { throw SysError("open", p) }
        defer { Glibc.close(fd) }
        let bytes = Array(value.utf8)
        if Glibc.write(fd, bytes, bytes.count) < 0 { throw SysError("write \"\(value)\" to", p) }
    }

    public func processes() -> [Int32] {
        (read("cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// SIGKILL everything in the cgroup at once.
    public func killAll() throws {
        try write("cgroup.kill", "1")
    }

    public func freeze(_ on: Bool) throws {
        try write("cgroup.freeze", on ? "1" : "0")
    }

    public var isFrozen: Bool { read("cgroup.freeze") == "1" }

    /// Waits until no process is left in the cgroup. The kernel signals changes of
    /// "populated" in cgroup.events with POLLPRI: no sleeping and polling.
    @discardableResult
    public func waitEmpty(timeoutMs: Int32) -> Bool {
        let path = dir + "/cgroup.events"
        let fd = sr_open_cloexec(path, O_RDONLY, 0)
        guard fd >= 0 else { return !Files.exists(dir) }
        defer { Glibc.close(fd) }
        let deadline = Time.monotonicNanos() + Int64(timeoutMs) * 1_000_000
        var buf = [UInt8](repeating: 0, count: 256)
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return true }
            if !String(decoding: buf[0..<n], as: UTF8.self).contains("populated 1") { return true }
            let left = (deadline - Time.monotonicNanos()) / 1_000_000
            if left <= 0 { return false }
            var p = pollfd(fd: fd, events: Int16(POLLPRI), revents: 0)
            _ = poll(&p, 1, Int32(left))
        }
    }

    /// Removes the cgroup (killing what is left) and the empty parents listed in `created`.
    public func remove(createdParents: [String] = []) throws {
        if Files.exists(dir) {
            var killed = false
            while rmdir(dir) < 0 {
                let e = errno
                if e == ENOENT { break }
                guard e == EBUSY, !killed else { throw SysError("rmdir", dir, errno: e) }
                // Still populated (a process exiting, or left behind): kill and wait for empty.
                try? killAll()
                killed = true
                if !waitEmpty(timeoutMs: 10_000) { throw SysError("rmdir (processes did not exit within 10 s)", dir, errno: EBUSY) }
            }
        }
        for p in createdParents.reversed() where p != dir { rmdir(p) }
        if path.hasPrefix(Self.defaultParent + "/") { rmdir(mountpoint + Self.defaultParent) } // fails while others use it
    }

    // MARK: resources

    /// The controller each cgroup file needs.
    static func controller(ofFile file: String) -> String? {
        guard let dot = file.firstIndex(of: ".") else { return nil }
        let c = String(file[..<dot])
        return c == "cgroup" ? nil : c
    }

    /// linux.resources → cgroup2 files, in order. Pure, for unit tests.
    public static func files(for r: Spec.Resources) throws -> [(String, String)] {
        var out: [(String, String)] = []
        if let m = r.memory {
            if let l = m.limit { out.append(("memory.max", l < 0 ? "max" : String(l))) }
            if let l = m.reservation { out.append(("memory.low", l < 0 ? "max" : String(l))) }
            if let s = m.swap {
                // runtime-spec swap is memory+swap; cgroup2 wants swap alone.
                if s < 0 { out.append(("memory.swap.max", "max")) }
                else if let l = m.limit, l >= 0 {
                    guard s >= l else { throw Failure("memory.swap (\(s)) must not be lower than memory.limit (\(l))") }
                    out.append(("memory.swap.max", String(s - l)))
                } else {
                    throw Failure("memory.swap needs memory.limit")
                }
            }
            if m.kernel != nil || m.kernelTCP != nil {
                throw Failure("memory.kernel and memory.kernelTCP do not exist in cgroup v2")
            }
            if m.disableOOMKiller == true { throw Failure("memory.disableOOMKiller does not exist in cgroup v2") }
        }
        if let c = r.cpu {
            if let s = c.shares, s > 0 {
                // runc's mapping of [2, 262144] onto [1, 10000].
                let w = 1 + ((max(2, min(s, 262_144)) - 2) * 9999) / 262_142
                out.append(("cpu.weight", String(w)))
            }
            if c.quota != nil || c.period != nil {
                let q = c.quota.map { $0 < 0 ? "max" : String($0) } ?? "max"
                out.append(("cpu.max", "\(q) \(c.period ?? 100_000)"))
            }
            if let b = c.burst { out.append(("cpu.max.burst", String(b))) }
            if let i = c.idle { out.append(("cpu.idle", String(i))) }
            if let s = c.cpus, !s.isEmpty { out.append(("cpuset.cpus", s)) }
            if let s = c.mems, !s.isEmpty { out.append(("cpuset.mems", s)) }
            if c.realtimeRuntime != nil || c.realtimePeriod != nil {
                throw Failure("cpu.realtimeRuntime/realtimePeriod are not supported in cgroup v2")
            }
        }
        // runc: 0 means no limit is set, negative means unlimited.
        if let p = r.pids, p.limit != 0 { out.append(("pids.max", p.limit < 0 ? "max" : String(p.limit))) }
        if let b = r.blockIO, let w = b.weight, w > 0 {
            // blkio weight [10, 1000] → io.weight [1, 10000].
            out.append(("io.weight", String(1 + (UInt64(w) - 10) * 9999 / 990)))
        }
        for h in r.hugepageLimits ?? [] {
            out.append(("hugetlb.\(h.pageSize).max", String(h.limit)))
        }
        for (k, v) in (r.unified ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard !k.contains("/"), !k.contains("..") else { throw Failure("linux.resources.unified: bad key \(k)") }
            out.append((k, v))
        }
        return out
    }

    /// The controllers `files` need that this cgroup cannot get, each with the reason.
    /// Works before the cgroup or its parents exist: what a new child can have is the
    /// nearest existing ancestor's cgroup.controllers (we enable them on the way down),
    /// except below the root, whose subtree_control is the host's and never ours to write.
    public func missingControllers(for files: [(String, String)]) -> [(controller: String, why: String)] {
        let needed = Set(files.compactMap { Self.controller(ofFile: $0.0) })
        if needed.isEmpty { return [] }
        var comps = path.split(separator: "/").dropLast()
        while !comps.isEmpty && !Files.exists(mountpoint + "/" + comps.joined(separator: "/")) { comps = comps.dropLast() }
        let ancestor = Cgroup(mountpoint: mountpoint, path: "/" + comps.joined(separator: "/"))
        let file = comps.isEmpty ? "cgroup.subtree_control" : "cgroup.controllers"
        let available = Set((ancestor.read(file) ?? "").split(separator: " ").map(String.init))
        return needed.sorted().filter { !available.contains($0) }.map { c in
            let v1 = Files.exists("/sys/fs/cgroup/\(c)") && mountpoint != "/sys/fs/cgroup"
            let offered = available.isEmpty ? "none" : available.sorted().joined(separator: " ")
            return (c, v1 ? "on this host \(c) is bound to cgroup v1 (/sys/fs/cgroup/\(c)), which swiftrun does not manage; the cgroup2 hierarchy at \(mountpoint) offers: \(offered)"
                          : "it is not enabled in \(ancestor.dir)/\(file) (offered: \(offered))")
        }
    }

    /// Checks that every controller the files need can be had, before anything is started.
    public func checkControllers(for files: [(String, String)]) throws {
        if let (c, why) = missingControllers(for: files).first {
            throw Failure("cgroup controller \(c) is not available for \(dir): \(why). Drop the limit or run on a host with \(c) in cgroup v2")
        }
    }

    var parentPath: String {
        let comps = path.split(separator: "/").dropLast()
        return "/" + comps.joined(separator: "/")
    }

    /// What `stats` reads (memory.current, cpu.stat, io.stat, pids.current): enabled for
    /// every container where the hierarchy offers them, as runc does, limits or not.
    static let accounting: Set<String> = ["cpu", "io", "memory", "pids"]

    /// Enables the needed controllers (and the accounting ones on offer) down from the
    /// topmost cgroup below the root (never the root itself: that is the host's), then
    /// writes the files.
    public func apply(_ files: [(String, String)]) throws {
        let needed = Set(files.compactMap { Self.controller(ofFile: $0.0) })
        let comps = path.split(separator: "/").map(String.init)
        var p = ""
        for c in comps.dropLast() {
            p += "/" + c
            let cg = Cgroup(mountpoint: mountpoint, path: p)
            let offered = Set((cg.read("cgroup.controllers") ?? "").split(separator: " ").map(String.init))
            let enabled = Set((cg.read("cgroup.subtree_control") ?? "").split(separator: " ").map(String.init))
            for ctl in needed.union(Self.accounting.intersection(offered)).sorted() where !enabled.contains(ctl) {
                do { try cg.write("cgroup.subtree_control", "+" + ctl) } catch where !needed.contains(ctl) {
                    // Accounting is a nicety: a parent that holds processes cannot enable it.
                }
            }
        }
        for (f, v) in files { try write(f, v) }
    }
}

extension String {
    func trimmed(_ set: String = " \n\t") -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
