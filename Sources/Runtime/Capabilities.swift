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
        return Sets(bounding: try mask(caps.bounding), effective: try mask(caps.effective),
                    permitted: try mask(caps.permitted), inheritable: try mask(caps.inheritable),
                    ambient: try mask(caps.ambient))
    }

    public static func number(_ name: String) -> Int32? {
        let v = sr_cap_from_name(name)
        return v >= 0 ? v : nil
    }
}
