import OCI
import OS

/// The device cgroup of cgroup v2: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) built
/// from linux.resources.devices. Without it a container with CAP_MKNOD could create and
/// open the host's disks. Rules are OCI's: later rules override earlier ones, and what no
/// rule allows is denied.
public enum DeviceFilter {
    public struct Rule: Equatable {
        public var allow: Bool
        public var type: Character   // "a" (all), "c", "b"
        public var major: Int64      // -1: any
        public var minor: Int64      // -1: any
        public var access: String    // subset of "rwm"
        public init(allow: Bool, type: Character, major: Int64, minor: Int64, access: String) {
            self.allow = allow
            self.type = type
            self.major = major
            self.minor = minor
            self.access = access
        }
    }

    /// Always allowed after the spec's rules (runc's list): the standard character devices,
    /// pseudo-terminals, and mknod (not open) of any node.
    public static let defaultAllowed: [Rule] = [
        .init(allow: true, type: "c", major: -1, minor: -1, access: "m"),
        .init(allow: true, type: "b", major: -1, minor: -1, access: "m"),
        .init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),   // null
        .init(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),   // zero
        .init(allow: true, type: "c", major: 1, minor: 7, access: "rwm"),   // full
        .init(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),   // random
        .init(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),   // urandom
        .init(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),   // tty
        .init(allow: true, type: "c", major: 5, minor: 1, access: "rwm"),   // console
        .init(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),   // ptmx
        .init(allow: true, type: "c", major: 136, minor: -1, access: "rwm"), // pts/*
    ]

    /// The spec's rules, then its linux.devices (allowed, as runc does), then the defaults.
    public static func rules(for spec: Spec) throws -> [Rule] {
        var out: [Rule] = []
        for r in spec.linux?.resources?.devices ?? [] {
            let t = r.type ?? "a"
            guard ["a", "c", "b"].contains(t), let c = t.first else { throw Failure("device rule type \(t): use a, c or b") }
            let acc = r.access ?? "rwm"
            guard !acc.isEmpty, acc.allSatisfy({ "rwm".contains($0) }) else { throw Failure("device rule access \(acc): use r, w, m") }
            out.append(.init(allow: r.allow, type: c, major: r.major ?? -1, minor: r.minor ?? -1, access: acc))
        }
        for d in spec.linux?.devices ?? [] where d.type == "c" || d.type == "b" || d.type == "u" {
            out.append(.init(allow: true, type: d.type == "b" ? "b" : "c", major: d.major ?? 0, minor: d.minor ?? 0, access: "rwm"))
        }
        return out + defaultAllowed
    }

    struct Insn: Equatable {
        var code: UInt8, dst: UInt8, src: UInt8, off: Int16, imm: Int32
    }

    // Opcodes (linux/bpf_common.h, linux/bpf.h).
    static func ldxW(_ dst: UInt8, _ off: Int16) -> Insn { .init(code: 0x61, dst: dst, src: 1, off: off, imm: 0) }
    static func and32(_ dst: UInt8, _ imm: Int32) -> Insn { .init(code: 0x54, dst: dst, src: 0, off: 0, imm: imm) }
    static func rsh32(_ dst: UInt8, _ imm: Int32) -> Insn { .init(code: 0x74, dst: dst, src: 0, off: 0, imm: imm) }
    static func mov32(_ dst: UInt8, _ src: UInt8) -> Insn { .init(code: 0xbc, dst: dst, src: src, off: 0, imm: 0) }
    static func jne(_ dst: UInt8, _ imm: Int32, _ off: Int16) -> Insn { .init(code: 0x55, dst: dst, src: 0, off: off, imm: imm) }
    static func mov64(_ dst: UInt8, _ imm: Int32) -> Insn { .init(code: 0xb7, dst: dst, src: 0, off: 0, imm: imm) }
    static let exit = Insn(code: 0x95, dst: 0, src: 0, off: 0, imm: 0)

    static func accessBits(_ s: String) -> Int32 {
        (s.contains("m") ? 1 : 0) | (s.contains("r") ? 2 : 0) | (s.contains("w") ? 4 : 0)
    }

    /// The program: load type, access, major, minor from bpf_cgroup_dev_ctx, then test the
    /// rules last to first; the first match decides. No match: deny.
    static func program(_ rules: [Rule]) -> [Insn] {
        var p: [Insn] = [
            ldxW(2, 0), and32(2, 0xffff),   // r2 = type (BPF_DEVCG_DEV_BLOCK 1, CHAR 2)
            ldxW(3, 0), rsh32(3, 16),       // r3 = access (MKNOD 1, READ 2, WRITE 4)
            ldxW(4, 4),                     // r4 = major
            ldxW(5, 8),                     // r5 = minor
        ]
        for r in rules.reversed() {
            var block: [Insn] = []
            var jumps: [Int] = [] // indexes in block of jumps to the block's end
            if r.type != "a" { jumps.append(block.count); block.append(jne(2, r.type == "b" ? 1 : 2, 0)) }
            let acc = accessBits(r.access)
            if acc != 7 {
                // Every requested access bit must be in the rule.
                block.append(mov32(1, 3))
                block.append(and32(1, ~acc & 7))
                jumps.append(block.count); block.append(jne(1, 0, 0))
            }
            if r.major >= 0 { jumps.append(block.count); block.append(jne(4, Int32(r.major), 0)) }
            if r.minor >= 0 { jumps.append(block.count); block.append(jne(5, Int32(r.minor), 0)) }
            block.append(mov64(0, r.allow ? 1 : 0))
            block.append(exit)
            for j in jumps { block[j].off = Int16(block.count - j - 1) }
            p += block
            // A rule that matches everything decides alone: what follows would be
            // unreachable, which the verifier rejects.
            if jumps.isEmpty { return p }
        }
        return p + [mov64(0, 0), exit]
    }

    /// The program as struct bpf_insn bytes.
    public static func bytes(_ rules: [Rule]) -> [UInt8] {
        var out: [UInt8] = []
        for i in program(rules) {
            out.append(i.code)
            out.append(i.dst | (i.src << 4))
            withUnsafeBytes(of: i.off.littleEndian) { out += $0 }
            withUnsafeBytes(of: i.imm.littleEndian) { out += $0 }
        }
        return out
    }
}
