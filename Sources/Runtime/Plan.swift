import CShim

/// One step that swiftrun-init performs inside the new namespaces. The runtime
/// compiles the spec into these (PlanBuilder), so the C side is a small
/// interpreter and the decisions stay in Swift where they are unit-tested.
public enum InitOp: Equatable {
    case propagation(flags: UInt64)
    case rootfs(String)
    case mount(Mount)
    case mkdev(path: String, mode: UInt32, major: Int64, minor: Int64, uid: UInt32, gid: UInt32)
    case symlink(target: String, path: String)
    case mask(String)
    case readonly(String)
    case rootReadonly
    case pivot
    case hostname(String)
    case domainname(String)
    case sysctl(key: String, value: String)
    case oomScoreAdj(Int)
    case rlimit(resource: Int32, soft: UInt64, hard: UInt64)
    case umask(UInt32)
    case noNewPrivileges
    case seccomp(bpf: [UInt8], flags: UInt32)
    case capBounding(UInt64)
    case user(uid: UInt32, gid: UInt32, groups: [UInt32])
    case caps(effective: UInt64, permitted: UInt64, inheritable: UInt64, ambient: UInt64)
    case chdir(String)
    case closeFds(from: Int32)
    case lookup(file: String, path: String)
    case ready
    case waitStart
    case hook(path: String, stdin: String, timeout: Int, args: [String], env: [String])
    case exec(args: [String], env: [String])
    case setsid
    /// The signal the process gets when its creator dies (0: none). Set after the
    /// credential change, which clears it.
    case deathsig(Int32)
    case mkdir(String)
    case sync
    case setns(path: String, type: Int32)
    case join(flags: Int32)
    case fork
    case console(rows: UInt, cols: UInt, bindDevConsole: Bool)
    case loopbackUp
    case reaper
    case unshare(flags: Int64)
    /// After unshare made a user namespace: the runtime writes its maps (SR_OP_MAPS).
    case mapIDs

    public struct Mount: Equatable {
        public enum Kind: Int64 { case fs = 1, bind = 2 }
        public var kind: Kind
        public var source: String
        public var destination: String
        public var fstype: String
        public var attrSet: UInt64 = 0
        public var attrClear: UInt64 = 0
        public var propagation: UInt64 = 0
        public var recursive = false
        public var noSymlinks = false
        /// fsconfig parameters; an empty value is a flag ("newinstance").
        public var data: [(String, String)] = []
        /// An idmapped bind mount: uid_map and gid_map lines of the mapping's user namespace.
        /// The runtime makes the tree (Runtime.premadeTrees) and sends it to the init.
        public var idmap: IDMap?
        /// A bind the runtime makes (open_tree in the host's user namespace) and sends to the
        /// init: every idmapped one, and every bind of a container with a user namespace,
        /// whose init may not reach sources only the host's root can.
        public var premade = false

        public struct IDMap: Equatable {
            public var uidMap: String
            public var gidMap: String
        }

        public static func == (a: Mount, b: Mount) -> Bool {
            a.kind == b.kind && a.source == b.source && a.destination == b.destination && a.fstype == b.fstype
                && a.attrSet == b.attrSet && a.attrClear == b.attrClear && a.propagation == b.propagation
                && a.recursive == b.recursive && a.noSymlinks == b.noSymlinks && a.idmap == b.idmap && a.premade == b.premade
                && a.data.map { $0.0 + "=" + $0.1 } == b.data.map { $0.0 + "=" + $0.1 }
        }
    }
}

/// Wire encoding of a plan (see sr_protocol.h).
public enum PlanEncoder {
    public static func encode(_ ops: [InitOp]) -> [UInt8] {
        var body: [UInt8] = []
        for op in ops { append(op, to: &body) }
        var out: [UInt8] = []
        put32(&out, SR_PLAN_MAGIC)
        put32(&out, UInt32(ops.count))
        put32(&out, UInt32(body.count))
        return out + body
    }

    private enum Arg {
        case s(String)
        case i(Int64)
        case b([UInt8])
    }

    private static func put32(_ out: inout [UInt8], _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func emit(_ out: inout [UInt8], _ code: sr_op_code, _ args: [Arg]) {
        withUnsafeBytes(of: UInt16(code.rawValue).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(args.count).littleEndian) { out.append(contentsOf: $0) }
        for a in args {
            let bytes: [UInt8]
            switch a {
            case .s(let s): bytes = Array(s.utf8)
            case .i(let v): bytes = withUnsafeBytes(of: v.littleEndian) { Array($0) }
            case .b(let b): bytes = b
            }
            put32(&out, UInt32(bytes.count))
            out.append(contentsOf: bytes)
            out.append(0)
        }
    }

    private static func append(_ op: InitOp, to out: inout [UInt8]) {
        switch op {
        case .propagation(let f): emit(&out, SR_OP_PROPAGATION, [.i(Int64(f))])
        case .rootfs(let p): emit(&out, SR_OP_ROOTFS, [.s(p)])
        case .mount(let m):
            var flags: Int64 = 0
            if m.recursive { flags |= Int64(SR_MNT_RECURSIVE) }
            if m.noSymlinks { flags |= Int64(SR_MNT_NO_SYMLINKS) }
            if m.premade { flags |= Int64(SR_MNT_PREMADE) }
            var args: [Arg] = [.i(m.kind.rawValue), .s(m.source), .s(m.destination), .s(m.fstype),
                               .i(Int64(m.attrSet)), .i(Int64(m.attrClear)), .i(Int64(m.propagation)), .i(flags)]
            for (k, v) in m.data { args += [.s(k), .s(v)] }
            emit(&out, SR_OP_MOUNT, args)
        case .mkdev(let p, let mode, let maj, let min, let uid, let gid):
            emit(&out, SR_OP_MKDEV, [.s(p), .i(Int64(mode)), .i(maj), .i(min), .i(Int64(uid)), .i(Int64(gid))])
        case .symlink(let t, let p): emit(&out, SR_OP_SYMLINK, [.s(t), .s(p)])
        case .mask(let p): emit(&out, SR_OP_MASK, [.s(p)])
        case .readonly(let p): emit(&out, SR_OP_READONLY, [.s(p)])
        case .rootReadonly: emit(&out, SR_OP_ROOT_READONLY, [])
        case .pivot: emit(&out, SR_OP_PIVOT, [])
        case .hostname(let h): emit(&out, SR_OP_HOSTNAME, [.s(h)])
        case .domainname(let d): emit(&out, SR_OP_DOMAINNAME, [.s(d)])
        case .sysctl(let k, let v): emit(&out, SR_OP_SYSCTL, [.s(k), .s(v)])
        case .oomScoreAdj(let v): emit(&out, SR_OP_OOM_SCORE_ADJ, [.i(Int64(v))])
        case .rlimit(let r, let s, let h): emit(&out, SR_OP_RLIMIT, [.i(Int64(r)), .i(Int64(bitPattern: s)), .i(Int64(bitPattern: h))])
        case .umask(let m): emit(&out, SR_OP_UMASK, [.i(Int64(m))])
        case .noNewPrivileges: emit(&out, SR_OP_NO_NEW_PRIVS, [])
        case .seccomp(let bpf, let flags): emit(&out, SR_OP_SECCOMP, [.b(bpf), .i(Int64(flags))])
        case .capBounding(let m): emit(&out, SR_OP_CAP_BOUNDING, [.i(Int64(bitPattern: m))])
        case .user(let uid, let gid, let groups):
            emit(&out, SR_OP_USER, [.i(Int64(uid)), .i(Int64(gid))] + groups.map { .i(Int64($0)) })
        case .caps(let e, let p, let i, let a):
            emit(&out, SR_OP_CAPS, [e, p, i, a].map { .i(Int64(bitPattern: $0)) })
        case .chdir(let p): emit(&out, SR_OP_CHDIR, [.s(p)])
        case .closeFds(let from): emit(&out, SR_OP_CLOSE_FDS, [.i(Int64(from))])
        case .lookup(let f, let p): emit(&out, SR_OP_LOOKUP, [.s(f), .s(p)])
        case .ready: emit(&out, SR_OP_READY, [])
        case .waitStart: emit(&out, SR_OP_WAIT_START, [])
        case .hook(let path, let stdin, let timeout, let args, let env):
            emit(&out, SR_OP_HOOK, [.s(path), .s(stdin), .i(Int64(timeout)), .i(Int64(args.count))]
                 + args.map { .s($0) } + env.map { .s($0) })
        case .exec(let args, let env):
            emit(&out, SR_OP_EXEC, [.i(Int64(args.count))] + args.map { .s($0) } + env.map { .s($0) })
        case .setsid: emit(&out, SR_OP_SETSID, [])
        case .deathsig(let sig): emit(&out, SR_OP_DEATHSIG, [.i(Int64(sig))])
        case .mkdir(let p): emit(&out, SR_OP_MKDIR, [.s(p)])
        case .sync: emit(&out, SR_OP_SYNC, [])
        case .setns(let p, let t): emit(&out, SR_OP_SETNS, [.s(p), .i(Int64(t))])
        case .join(let f): emit(&out, SR_OP_JOIN, [.i(Int64(f))])
        case .fork: emit(&out, SR_OP_FORK, [])
        case .console(let r, let c, let b): emit(&out, SR_OP_CONSOLE, [.i(Int64(r)), .i(Int64(c)), .i(b ? 1 : 0)])
        case .loopbackUp: emit(&out, SR_OP_LOOPBACK_UP, [])
        case .reaper: emit(&out, SR_OP_REAPER, [])
        case .unshare(let f): emit(&out, SR_OP_UNSHARE, [.i(f)])
        case .mapIDs: emit(&out, SR_OP_MAPS, [])
        }
    }
}
