import CShim
import OCI
import OS

/// Capability names → bit masks, resolved by libcap in the parent so the init only does capset.
public enum Capabilities {
    public struct Sets: Equatable {
        public var bounding: UInt64 = 0
        public var effective: UInt64 = 0
        public var permitted: UInt64 = 0
        public var inheritable: UInt64 = 0
        public var ambient: UInt64 = 0
    }

    /// Names libcap or the kernel do not know are dropped with a warning (a newer spec on an
    /// older host), as runc and crun do.
    public static func resolve(_ caps: Spec.Capabilities?, warn: (String) -> Void = { _ in }) throws -> Sets {
        guard let caps else { return Sets() }
        let last = sr_cap_last()
        func mask(_ names: [String]?) throws -> UInt64 {
            var m: UInt64 = 0
            for name in names ?? [] {
                let v = sr_cap_from_name(name)
                guard v >= 0 else {
                    warn("unknown capability \(name) in process.capabilities: ignored")
                    continue
                }
                if v > last {
                    warn("capability \(name) is not known to this kernel: ignored")
                    continue
                }
                m |= 1 << UInt64(v)
            }
            return m
        }
        var sets = Sets(bounding: try mask(caps.bounding), effective: try mask(caps.effective),
                        permitted: try mask(caps.permitted), inheritable: try mask(caps.inheritable),
                        ambient: try mask(caps.ambient))
        // The kernel raises an ambient capability only if it is permitted and inheritable.
        // `runc spec` lists ambient ones and no inheritable set: runc 1.1 and crun warn and
        // go on without them, and so do we.
        let unraisable = sets.ambient & ~(sets.permitted & sets.inheritable)
        if unraisable != 0 {
            for name in caps.ambient ?? [] {
                if let v = number(name), v >= 0, v < 64, unraisable & (1 << UInt64(v)) != 0 {
                    warn("ambient capability \(name) is not in both the permitted and inheritable sets, which raising it needs: skipped")
                }
            }
            sets.ambient &= ~unraisable
        }
        return sets
    }

    public static func number(_ name: String) -> Int32? {
        let v = sr_cap_from_name(name)
        return v >= 0 ? v : nil
    }
}
