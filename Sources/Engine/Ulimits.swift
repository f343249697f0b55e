import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// `--ulimit TYPE=SOFT[:HARD]`, Docker's flag (go-units' rules and words; -1 is unlimited),
/// and the limits every container starts from, so that a container does not inherit
/// whatever shell started `swiftrun`.
public struct Ulimit: Codable, Equatable {
    public var Name: String
    public var Hard: Int64
    public var Soft: Int64

    /// Docker's names → the runtime spec's.
    static let names: [String: String] = [
        "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
        "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE",
        "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
        "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
    ]

    /// What Docker 25+ containers get on a systemd host (the daemon no longer raises it):
    /// 1024 open files, raisable to 524288.
    static let defaults = [Ulimit(Name: "nofile", Hard: 524_288, Soft: 1024)]

    public static func parse(_ s: String) throws -> Ulimit {
        let kv = s.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard kv.count == 2 else { throw Failure("invalid argument \"\(s)\" for \"--ulimit\" flag: invalid ulimit argument: \(s)") }
        guard names[kv[0]] != nil else {
            throw Failure("invalid argument \"\(s)\" for \"--ulimit\" flag: invalid ulimit type: \(kv[0]) (one of \(names.keys.sorted().joined(separator: ", ")))")
        }
        let parts = kv[1].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else {
            throw Failure("invalid argument \"\(s)\" for \"--ulimit\" flag: too many limit value arguments - \(kv[1]), can only have up to two, `soft[:hard]`")
        }
        let values = try parts.map { p -> Int64 in
            guard let v = Int64(p), v >= -1 else { throw Failure("invalid argument \"\(s)\" for \"--ulimit\" flag: invalid ulimit value: \(p)") }
            return v
        }
        let soft = values[0], hard = values.count > 1 ? values[1] : soft
        // -1 (unlimited) is the largest value.
        if hard != -1 && (soft == -1 || soft > hard) {
            throw Failure("invalid argument \"\(s)\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)")
        }
        return Ulimit(Name: kv[0], Hard: hard, Soft: soft)
    }

    /// The hard limit this process has for a resource when it cannot raise it (no
    /// CAP_SYS_RESOURCE, as in some sandboxes): nil when it can.
    static func ceiling(_ specName: String) -> UInt64? {
        guard !Engine.hasEffectiveCapability(24), let r = Rlimits.resource(specName) else { return nil } // CAP_SYS_RESOURCE
        var rl = rlimit()
        guard getrlimit(__rlimit_resource_t(UInt32(r)), &rl) == 0 else { return nil }
        return UInt64(rl.rlim_max)
    }

    /// The defaults with the user's on top (a later --ulimit of a type wins), as the spec's.
    /// A default above what we may set is lowered to it; a --ulimit above it is an error
    /// here rather than an EPERM from the container's init.
    static func rlimits(_ given: [Ulimit], ceiling: (String) -> UInt64? = Ulimit.ceiling) throws -> [Spec.Rlimit] {
        var byName: [String: Ulimit] = [:]
        var order: [String] = []
        for u in defaults + given {
            if byName.updateValue(u, forKey: u.Name) == nil { order.append(u.Name) }
        }
        func raw(_ v: Int64) -> UInt64 { v == -1 ? UInt64.max : UInt64(v) }
        return try order.map { n in
            let u = byName[n]!, type = names[n]!
            var hard = raw(u.Hard), soft = raw(u.Soft)
            if let top = ceiling(type), hard > top {
                guard given.last(where: { $0.Name == n }) == nil else {
                    throw Failure("--ulimit \(n)=\(u.Soft):\(u.Hard): above swiftrun's own hard limit (\(top)), which it cannot raise without CAP_SYS_RESOURCE: ask for \(top) or less")
                }
                hard = top
                soft = min(soft, top)
            }
            return Spec.Rlimit(type: type, hard: hard, soft: soft)
        }
    }
}
