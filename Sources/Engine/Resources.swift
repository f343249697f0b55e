import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// Docker's resource flags as typed (run, create, update), before validation.
public struct ResourceFlags {
    public var memory: String?
    public var memorySwap: String?
    public var memoryReservation: String?
    public var cpus: String?
    public var cpuShares: Int64?
    public var cpuPeriod: Int64?
    public var cpuQuota: Int64?
    public var cpusetCpus: String?
    public var cpusetMems: String?
    public var pidsLimit: Int64?
    public var blkioWeight: Int64?
    public init() {}

    public var isEmpty: Bool {
        memory == nil && memorySwap == nil && memoryReservation == nil && cpus == nil && cpuShares == nil && cpuPeriod == nil
            && cpuQuota == nil && cpusetCpus == nil && cpusetMems == nil && pidsLimit == nil && blkioWeight == nil
    }
}

/// Docker's byte sizes (units.RAMInBytes: binary multipliers, "32m", "1.5g", "512KiB").
public enum ByteSize {
    public static func parse(_ s: String) -> Int64? {
        var t = Substring(s.lowercased()).drop { $0 == " " }
        if t.hasSuffix("b") { t = t.dropLast() }
        if t.hasSuffix("i") { t = t.dropLast() }
        var mult: Double = 1
        if let u = t.last, let i = ["k", "m", "g", "t", "p"].firstIndex(of: String(u)) {
            mult = Double(Int64(1) << (10 * (i + 1)))
            t = t.dropLast()
        }
        if t.hasSuffix(" ") { t = t.dropLast() }
        guard !t.isEmpty, t.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(t), v >= 0 else { return nil }
        let r = v * mult
        return r < 9.2e18 ? Int64(r) : nil
    }

    /// Docker's BytesSize: "32MiB", "1.465GiB".
    public static func binary(_ n: Double) -> String { human(n, base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]) }
    /// Docker's HumanSize: "1.2kB", "3.45MB".
    public static func decimal(_ n: Double) -> String { human(n, base: 1000, units: ["B", "kB", "MB", "GB", "TB", "PB"]) }

    static func human(_ n: Double, base: Double, units: [String]) -> String {
        var v = n, i = 0
        while v >= base && i < units.count - 1 { v /= base; i += 1 }
        // Go's %.4g: four significant digits, no trailing zeros.
        var buf = [CChar](repeating: 0, count: 32)
        _ = withVaList([v]) { vsnprintf(&buf, buf.count, v >= 10_000 ? "%.0f" : "%.4g", $0) }
        return String(cString: buf) + units[i]
    }
}

extension Container.HostConfig {
    /// Applies typed flags to the record with Docker's rules and words. For `update`,
    /// what the flags leave out keeps its value.
    public mutating func apply(_ f: ResourceFlags, onlineCPUs: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                               availableCPUs: String? = nil) throws {
        func bytes(_ flag: String, _ v: String?) throws -> Int64? {
            guard let v else { return nil }
            if v == "-1" && flag == "memory-swap" { return -1 } // unlimited swap; a size is never negative
            guard let b = ByteSize.parse(v) else { throw Failure("invalid argument \"\(v)\" for \"--\(flag)\" flag: invalid size: '\(v)' (use e.g. 512m, 1g)") }
            return b
        }
        let oldMemory = Memory ?? 0
        if let m = try bytes("memory", f.memory) { Memory = m }
        if let s = try bytes("memory-swap", f.memorySwap) { MemorySwap = s }
        if let r = try bytes("memory-reservation", f.memoryReservation) { MemoryReservation = r }
        let memory = Memory ?? 0
        if memory != 0 && memory < 6 << 20 { throw Failure("Minimum memory limit allowed is 6MB") }
        if f.memory != nil && f.memorySwap == nil {
            // Docker: swap defaults to as much again as memory; an update keeps "unlimited"
            // and moves a default along with memory.
            if (MemorySwap ?? 0) == 0 || MemorySwap == oldMemory * 2 { MemorySwap = memory > 0 ? memory * 2 : nil }
        }
        let swap = MemorySwap ?? 0
        if swap > 0 && memory <= 0 { throw Failure("You should always set the Memory limit when using Memoryswap limit, see usage") }
        if memory > 0 && swap > 0 && swap < memory {
            throw Failure(f.memorySwap == nil
                ? "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
                : "Minimum memoryswap limit should be larger than memory limit, see usage")
        }
        if let r = MemoryReservation, r > 0, memory > 0, memory < r {
            throw Failure("Minimum memory limit can not be less than memory reservation limit, see usage")
        }

        if let c = f.cpus {
            // A negative count parses, as a rational does in Docker: the range check names it.
            guard let v = Double(c), c.drop(while: { $0 == "-" }).allSatisfy({ $0.isNumber || $0 == "." }) else {
                throw Failure("invalid argument \"\(c)\" for \"--cpus\" flag: failed to parse \(c) as a rational number")
            }
            NanoCpus = Int64((v * 1e9).rounded())
        }
        if let s = f.cpuShares {
            guard s >= 0 else { throw Failure("invalid --cpu-shares \(s): must not be negative") }
            CpuShares = s
        }
        if let p = f.cpuPeriod { CpuPeriod = p }
        if let q = f.cpuQuota { CpuQuota = q }
        let nano = NanoCpus ?? 0
        if nano > 0 && (CpuPeriod ?? 0) > 0 { throw Failure("Conflicting options: Nano CPUs and CPU Period cannot both be set") }
        if nano > 0 && (CpuQuota ?? 0) > 0 { throw Failure("Conflicting options: Nano CPUs and CPU Quota cannot both be set") }
        if nano < 0 || nano > Int64(onlineCPUs) * 1_000_000_000 || (nano > 0 && nano < 10_000_000) {
            throw Failure("Range of CPUs is from 0.01 to \(onlineCPUs).00, as there are only \(onlineCPUs) CPUs available")
        }
        if let p = CpuPeriod, p != 0, p < 1000 || p > 1_000_000 {
            throw Failure("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
        }
        if let q = CpuQuota, q > 0, q < 1000 { throw Failure("CPU cfs quota can not be less than 1ms (i.e. 1000)") }

        if let s = f.cpusetCpus {
            guard let want = CPUSet.parse(s) else { throw Failure("Invalid value \(s) for cpuset cpus: use a list such as 0-2,4") }
            let avail = availableCPUs ?? CPUSet.online()
            if let have = CPUSet.parse(avail), !want.isSubset(of: have) {
                throw Failure("Requested CPUs are not available - requested \(s), available: \(avail)")
            }
            CpusetCpus = s
        }
        if let s = f.cpusetMems {
            guard CPUSet.parse(s) != nil else { throw Failure("Invalid value \(s) for cpuset mems: use a list such as 0-1") }
            CpusetMems = s
        }
        if let p = f.pidsLimit { PidsLimit = p <= 0 ? -1 : p }
        if let w = f.blkioWeight {
            guard w == 0 || (10...1000).contains(w) else { throw Failure("Range of blkio weight is from 10 to 1000") }
            BlkioWeight = UInt16(w)
        }
    }

    /// The record → linux.resources (nil when nothing is limited). Docker's mapping: --cpus
    /// is a quota over a 100 ms period; swap is memory+swap, -1 unlimited.
    public var specResources: Spec.Resources? {
        var r = Spec.Resources()
        var mem = Spec.Resources.Memory()
        if let m = Memory, m > 0 { mem.limit = m }
        if let s = MemorySwap, s != 0, mem.limit != nil { mem.swap = s }
        if let v = MemoryReservation, v > 0 { mem.reservation = v }
        if mem != Spec.Resources.Memory() { r.memory = mem }
        var cpu = Spec.Resources.CPU()
        if let s = CpuShares, s > 0 { cpu.shares = UInt64(s) }
        if let n = NanoCpus, n > 0 {
            cpu.period = 100_000
            cpu.quota = n * 100_000 / 1_000_000_000
        } else {
            if let p = CpuPeriod, p > 0 { cpu.period = UInt64(p) }
            if let q = CpuQuota, q != 0 { cpu.quota = q }
        }
        if let s = CpusetCpus, !s.isEmpty { cpu.cpus = s }
        if let s = CpusetMems, !s.isEmpty { cpu.mems = s }
        if cpu != Spec.Resources.CPU() { r.cpu = cpu }
        if let p = PidsLimit, p != 0 { r.pids = .init(limit: p) }
        if let w = BlkioWeight, w > 0 { r.blockIO = .init(weight: w, leafWeight: nil) }
        return r == Spec.Resources() ? nil : r
    }
}

/// cpuset lists ("0-2,4").
public enum CPUSet {
    public static func parse(_ s: String) -> Set<Int>? {
        var out = Set<Int>()
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let ab = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let a = Int(ab[0]), a >= 0 else { return nil }
            let b = ab.count == 2 ? Int(ab[1]) : a
            guard let b, b >= a, b - a < 4096 else { return nil }
            out.formUnion(a...b)
        }
        return out.isEmpty ? nil : out
    }

    public static func online() -> String {
        ((try? Files.readString("/sys/devices/system/cpu/online")) ?? "0").trimmed()
    }
}

extension Engine {
    /// The flags the user gave that need a controller, for errors.
    static func flags(_ f: ResourceFlags, needing controller: String) -> String {
        let given: [(String, Bool)]
        switch controller {
        case "memory": given = [("--memory", f.memory != nil), ("--memory-swap", f.memorySwap != nil), ("--memory-reservation", f.memoryReservation != nil)]
        case "cpu": given = [("--cpus", f.cpus != nil), ("--cpu-shares", f.cpuShares != nil), ("--cpu-period", f.cpuPeriod != nil), ("--cpu-quota", f.cpuQuota != nil)]
        case "cpuset": given = [("--cpuset-cpus", f.cpusetCpus != nil), ("--cpuset-mems", f.cpusetMems != nil)]
        case "pids": given = [("--pids-limit", f.pidsLimit != nil)]
        case "io": given = [("--blkio-weight", f.blkioWeight != nil)]
        default: given = []
        }
        let names = given.filter { $0.1 }.map { $0.0 }
        return names.isEmpty ? "the container's \(controller) limit" : names.joined(separator: " and ")
    }

    /// Limits a container would get → an error naming the flag and the controller when the
    /// cgroup2 hierarchy cannot give them (on a hybrid host: most), before anything exists.
    static func checkLimits(_ r: Spec.Resources?, _ given: ResourceFlags) throws {
        guard let r else { return }
        let files = try Cgroup.files(for: r)
        let cg = Cgroup(mountpoint: try Cgroup.findMountpoint(), path: try Cgroup.resolvePath(nil, id: "new"))
        if let (c, why) = cg.missingControllers(for: files).first {
            throw Failure("\(Self.flags(given, needing: c)): the cgroup v2 \(c) controller is not available: \(why). "
                          + "Drop the flag, or run on a host with \(c) in cgroup v2 (a pure cgroup v2 host, or cgroup_no_v1=\(c) on the kernel command line)")
        }
    }

    /// `update`: new limits (and restart policy) for a container. A running one gets them
    /// on its cgroup at once; every later start has them from the bundle. Checked first, so
    /// a refused update changes nothing.
    public func update(_ id: String, _ flags: ResourceFlags, restart: Container.RestartPolicy?) throws {
        var c = try load(id)
        try c.HostConfig.apply(flags)
        if let restart {
            if c.HostConfig.AutoRemove && restart.Name != "no" {
                throw Failure("Restart policy cannot be updated because AutoRemove is enabled for the container")
            }
            c.HostConfig.RestartPolicy = restart
        }
        let resources = c.HostConfig.specResources
        try Self.checkLimits(resources, flags)
        let v = try view(id)
        if v.state.Running || v.state.Paused {
            do { try runtime.update(id, resources: resources ?? Spec.Resources()) } catch {
                // Stopped between the look and the write: the records below still apply.
                if (try? view(id))?.state.Running == true { throw error }
            }
        }
        let bundle = dir(id) + "/bundle/config.json"
        var spec = try JSON.decodeSpec(try Files.read(bundle), what: "bundle config")
        spec.linux?.resources = resources
        try Files.writeAtomic(bundle, try JSON.encode(spec), mode: 0o600)
        try Files.writeAtomic(dir(id) + "/config.json", try JSON.encode(c), mode: 0o600)
        Events.emit(self, "update", c)
    }
}
