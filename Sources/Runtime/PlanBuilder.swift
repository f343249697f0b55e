import CShim
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// Compiles a validated spec into the steps swiftrun-init runs. Pure: no syscalls
/// except libseccomp/libcap lookups, so it is unit-tested without root.
public struct PlanBuilder {
    public var spec: Spec
    public var rootfs: String
    public var preserveFds: Int32 = 0
    /// Sent to the container's init when the process that created it dies (a supervisor's
    /// SIGKILL must not leak the container); 0 for runc's behaviour.
    public var parentDeathSignal: Int32 = 0
    /// Bring up lo in the new network namespace (the engine's containers; runc does not).
    public var loopbackUp = false
    /// Docker's --init: the process runs as PID 1's child; PID 1 (swiftrun-init, still the
    /// sealed memfd) reaps orphans and forwards signals, as tini does.
    public var reaper = false
    /// The container's cgroup directory on the host, bound at /sys/fs/cgroup when the
    /// container has no cgroup namespace (a fresh cgroup2 mount would show the host's tree,
    /// and in a user namespace the kernel refuses it).
    public var cgroupDir: String?
    /// The state JSON given to createContainer/startContainer hooks.
    public var hookState: String = ""
    public var warn: (String) -> Void = { _ in }
    /// How linux.seccomp becomes BPF; the runtime passes a cache (compiling Docker's
    /// allowlist takes libseccomp 10-20 ms).
    public var compileSeccomp: (Spec.Seccomp) throws -> Seccomp.Program = { try Seccomp.build($0) }

    public init(spec: Spec, rootfs: String) {
        self.spec = spec
        self.rootfs = rootfs
    }

    // Mount attributes (linux/mount.h).
    static let attrRdonly: UInt64 = 0x1, attrNosuid: UInt64 = 0x2, attrNodev: UInt64 = 0x4
    static let attrNoexec: UInt64 = 0x8, attrAtime: UInt64 = 0x70, attrNoatime: UInt64 = 0x10
    static let attrStrictatime: UInt64 = 0x20, attrNodiratime: UInt64 = 0x80
    // Propagation (MS_*).
    static let msRec: UInt64 = 0x4000, msUnbindable: UInt64 = 1 << 17, msPrivate: UInt64 = 1 << 18
    static let msSlave: UInt64 = 1 << 19, msShared: UInt64 = 1 << 20

    public static let defaultDevices: [Spec.Device] = [
        .init(type: "c", path: "/dev/null", major: 1, minor: 3),
        .init(type: "c", path: "/dev/zero", major: 1, minor: 5),
        .init(type: "c", path: "/dev/full", major: 1, minor: 7),
        .init(type: "c", path: "/dev/random", major: 1, minor: 8),
        .init(type: "c", path: "/dev/urandom", major: 1, minor: 9),
        .init(type: "c", path: "/dev/tty", major: 5, minor: 0),
    ]

    static func propagation(_ name: String) -> UInt64? {
        switch name {
        case "private": return msPrivate
        case "rprivate": return msPrivate | msRec
        case "slave": return msSlave
        case "rslave": return msSlave | msRec
        case "shared": return msShared
        case "rshared": return msShared | msRec
        case "unbindable": return msUnbindable
        case "runbindable": return msUnbindable | msRec
        default: return nil
        }
    }

    /// Translates one spec mount. Options follow mount(8); unknown ones become fs data.
    public func mount(_ m: Spec.Mount, hasNetNS: Bool) throws -> InitOp.Mount {
        var type = m.type ?? ""
        var source = m.source ?? type
        let opts = m.options ?? []
        var bind = type == "bind" || opts.contains("bind") || opts.contains("rbind")
        var recursive = opts.contains("rbind")
        // Our cgroups live in the v2 hierarchy only: a v1 "cgroup" mount becomes the
        // container's cgroup2 view (its cgroup namespace root).
        if type == "cgroup" { type = "cgroup2"; source = "cgroup2" }
        let newCgroupNS = (spec.linux?.namespaces ?? []).contains { $0.type == "cgroup" && ($0.path ?? "").isEmpty }
        if type == "cgroup2" && !newCgroupNS && !bind, let dir = cgroupDir {
            bind = true
            recursive = true
            source = dir
        }
        // Without a network namespace the kernel refuses a new sysfs: bind the host's.
        if type == "sysfs" && !hasNetNS && !bind { bind = true; recursive = true; source = "/sys" }

        var out = InitOp.Mount(kind: bind ? .bind : .fs, source: source, destination: m.destination,
                               fstype: bind ? "" : type)
        out.recursive = recursive
        out.noSymlinks = ["/proc", "/sys"].contains(m.destination) || type == "proc" || type == "sysfs"
        var atime = false
        for o in opts {
            switch o {
            case "ro": out.attrSet |= Self.attrRdonly
            case "rw": out.attrClear |= Self.attrRdonly
            case "nosuid": out.attrSet |= Self.attrNosuid
            case "suid": out.attrClear |= Self.attrNosuid
            case "nodev": out.attrSet |= Self.attrNodev
            case "dev": out.attrClear |= Self.attrNodev
            case "noexec": out.attrSet |= Self.attrNoexec
            case "exec": out.attrClear |= Self.attrNoexec
            case "noatime": out.attrSet |= Self.attrNoatime; atime = true
            case "strictatime": out.attrSet |= Self.attrStrictatime; atime = true
            case "relatime": atime = true
            case "nodiratime": out.attrSet |= Self.attrNodiratime
            case "bind", "rbind", "defaults", "async", "tmpcopyup", "norelatime", "atime", "diratime", "loud", "silent":
                break
            case "sync" where !bind, "dirsync" where !bind:
                out.data.append((o, "")) // superblock flags: fsconfig takes them as flags
            case "sync", "dirsync", "mand", "nomand", "remount":
                warn("mount option \(o) on \(m.destination) is not supported\(bind ? " on a bind mount (it belongs to the filesystem)" : ""): ignored")
            case "idmap", "ridmap":
                break // the mappings below say how
            default:
                if let p = Self.propagation(o) {
                    out.propagation = p
                } else if bind {
                    warn("mount option \(o) on bind mount \(m.destination) ignored")
                } else if let eq = o.firstIndex(of: "=") {
                    out.data.append((String(o[..<eq]), String(o[o.index(after: eq)...])))
                } else {
                    out.data.append((o, ""))
                }
            }
        }
        if atime && bind { out.attrClear |= Self.attrAtime }
        let userNS = (spec.linux?.namespaces ?? []).contains { $0.type == "user" }
        var m = m
        if (opts.contains("idmap") || opts.contains("ridmap")) && m.uidMappings == nil && m.gidMappings == nil {
            // As runc and crun: without its own maps, the mount takes the container's.
            guard userNS, let u = spec.linux?.uidMappings, let g = spec.linux?.gidMappings, !u.isEmpty, !g.isEmpty else {
                throw Failure("mount \(m.destination): \"idmap\" without uidMappings/gidMappings takes the container's, and it has no user namespace with maps")
            }
            m.uidMappings = u
            m.gidMappings = g
        }
        if m.uidMappings != nil || m.gidMappings != nil {
            guard bind else { throw Failure("mount \(m.destination): uidMappings/gidMappings are for bind mounts (an idmapped mount)") }
            guard let u = m.uidMappings, let g = m.gidMappings, !u.isEmpty, !g.isEmpty else {
                throw Failure("mount \(m.destination): an idmapped mount needs both uidMappings and gidMappings")
            }
            // As a user namespace's map, "containerID hostID size": a file the filesystem
            // says is containerID's shows as hostID (in the host's view; a container with a
            // user namespace then sees that through its own map). runc, podman and crun
            // since containers/crun#1147 read it so; crun before it (Debian's 1.8.1) reversed it.
            func render(_ ms: [Spec.IDMapping]) -> String { ms.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined() }
            out.idmap = .init(uidMap: render(u), gidMap: render(g))
        }
        out.premade = bind && (out.idmap != nil || userNS)
        return out
    }

    static let ipcSysctls: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                          "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]

    /// A sysctl is written only where it is namespaced and the container has its own
    /// namespace: anything else would change the host's kernel (runc's rule).
    static func checkSysctl(_ key: String, newNamespace: (String) -> Bool) throws {
        guard !key.isEmpty, !key.contains("/"), !key.split(separator: ".").contains(where: { $0 == ".." || $0.isEmpty }) else {
            throw Failure("sysctl \(key): invalid name")
        }
        if key == "kernel.hostname" { throw Failure("sysctl kernel.hostname: set the hostname with the spec's \"hostname\"") }
        let ns: String
        if ipcSysctls.contains(key) || key.hasPrefix("fs.mqueue.") { ns = "ipc" }
        else if key.hasPrefix("net.") { ns = "network" }
        else if key == "kernel.domainname" { ns = "uts" }
        else { throw Failure("sysctl \(key) is not namespaced: setting it would change the host") }
        guard newNamespace(ns) else {
            throw Failure("sysctl \(key) needs a new \(ns) namespace: without one it would change the host")
        }
    }

    public func build() throws -> [InitOp] {
        guard let process = spec.process else { throw Failure("config.json has no process") }
        guard process.args?.first?.isEmpty == false else { throw Failure("process.args must name a program to run") }
        let linux = spec.linux ?? Spec.Linux()
        let namespaces = linux.namespaces ?? []
        let newNS = { (t: String) in namespaces.contains { $0.type == t && ($0.path ?? "").isEmpty } }
        let hasMountNS = namespaces.contains { $0.type == "mount" }
        let hasNetNS = namespaces.contains { $0.type == "network" }
        var ops: [InitOp] = []

        // Join namespaces given by path (the init is single-threaded, so setns works).
        // Joined pid and time namespaces apply to children only: the init then forks, and
        // the child goes on as the container's init.
        // A joined user namespace goes first (the others may belong to it), and the new
        // namespaces are then made by unshare inside it, so that it owns them (runc's order);
        // clone3 made none (Runtime.spawnFlags).
        var forkAfterJoin = false
        let joinedUser = namespaces.first { $0.type == "user" && !($0.path ?? "").isEmpty }
        if let u = joinedUser, let path = u.path {
            if !(linux.uidMappings ?? []).isEmpty || !(linux.gidMappings ?? []).isEmpty {
                throw Failure("linux.uidMappings/gidMappings are for a new user namespace: the joined one (\(path)) has its own")
            }
            ops.append(.setns(path: path, type: Namespaces.flag("user")!))
        }
        for ns in namespaces where ns.type != "user" {
            guard let path = ns.path, !path.isEmpty else { continue }
            guard let flag = Namespaces.flag(ns.type) else { throw Failure("unknown namespace type \(ns.type): use pid, network, mount, ipc, uts, user, cgroup or time") }
            if ns.type == "pid" || ns.type == "time" { forkAfterJoin = true }
            ops.append(.setns(path: path, type: flag))
        }
        // A new user namespace with others joined by path (a pod's network namespace, the
        // host's): those belong to the host's user namespace and can only be entered from
        // it, so the joins come first and the new ones, the user namespace too, are then
        // made by unshare, its maps written by the runtime at .mapIDs (runc's order).
        let newUserAfterJoins = Namespaces.newUserAfterJoins(namespaces)
        if joinedUser != nil || newUserAfterJoins {
            let fresh = try Namespaces.cloneFlags(namespaces)
            if fresh != 0 { ops.append(.unshare(flags: Int64(fresh))) }
            if newUserAfterJoins { ops.append(.mapIDs) }
            // New pid and time namespaces, too, take effect for children only.
            if fresh & UInt64(0x2000_0000 | 0x80) != 0 { forkAfterJoin = true }
        }
        if forkAfterJoin { ops.append(.fork) }
        if !hasMountNS {
            throw Failure("a mount namespace is required: swiftrun does not change the host's mounts")
        }

        if spec.hooks?.prestart?.isEmpty == false || spec.hooks?.createRuntime?.isEmpty == false {
            ops.append(.sync)
        }

        let prop: UInt64
        switch linux.rootfsPropagation ?? "" {
        case "": prop = Self.msSlave | Self.msRec
        case let p:
            guard let v = Self.propagation(p) else { throw Failure("unknown rootfsPropagation \(p)") }
            prop = v | Self.msRec
        }
        ops.append(.propagation(flags: prop))
        ops.append(.rootfs(rootfs))

        var devIsBind = false
        var hasPts = false
        for m in spec.mounts ?? [] {
            guard m.destination.hasPrefix("/") else {
                throw Failure("mount destination \(m.destination) must be an absolute path")
            }
            let op = try mount(m, hasNetNS: hasNetNS)
            if m.destination == "/dev" && op.kind == .bind { devIsBind = true }
            if m.destination == "/dev/pts" { hasPts = true }
            ops.append(.mount(op))
        }

        // Devices: the defaults (unless /dev comes from the host), then the spec's.
        var devices = devIsBind ? [] : Self.defaultDevices
        for d in linux.devices ?? [] {
            devices.removeAll { $0.path == d.path }
            devices.append(d)
        }
        for d in devices {
            let type: UInt32
            switch d.type {
            case "c", "u": type = UInt32(S_IFCHR)
            case "b": type = UInt32(S_IFBLK)
            case "p": type = UInt32(S_IFIFO)
            default: throw Failure("device \(d.path): unknown type \(d.type)")
            }
            ops.append(.mkdev(path: d.path, mode: type | ((d.fileMode ?? 0o666) & 0o7777),
                              major: d.major ?? 0, minor: d.minor ?? 0, uid: d.uid ?? 0, gid: d.gid ?? 0))
        }
        if !devIsBind {
            for (t, p) in [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                           ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr")] {
                ops.append(.symlink(target: t, path: p))
            }
            if hasPts { ops.append(.symlink(target: "pts/ptmx", path: "/dev/ptmx")) }
        }
        if process.cwd != "/" { ops.append(.mkdir(process.cwd)) }

        for h in spec.hooks?.createContainer ?? [] {
            ops.append(.hook(path: h.path, stdin: hookState, timeout: h.timeout ?? 0, args: h.args ?? [], env: h.env ?? Environment.current()))
        }
        // Through the new /proc, before /proc/sys turns read-only.
        for (k, v) in (linux.sysctl ?? [:]).sorted(by: { $0.key < $1.key }) {
            try Self.checkSysctl(k, newNamespace: newNS)
            ops.append(.sysctl(key: k, value: v))
        }
        if let adj = process.oomScoreAdj { ops.append(.oomScoreAdj(adj)) }
        for p in linux.maskedPaths ?? [] { ops.append(.mask(p)) }
        for p in linux.readonlyPaths ?? [] { ops.append(.readonly(p)) }
        if spec.root?.readonly == true { ops.append(.rootReadonly) }
        ops.append(.pivot)

        if loopbackUp {
            guard newNS("network") else { throw Failure("bringing up lo needs a new network namespace") }
            ops.append(.loopbackUp)
        }
        if let h = spec.hostname, !h.isEmpty {
            guard newNS("uts") else { throw Failure("hostname needs a new uts namespace") }
            ops.append(.hostname(h))
        }
        if let d = spec.domainname, !d.isEmpty {
            guard newNS("uts") else { throw Failure("domainname needs a new uts namespace") }
            ops.append(.domainname(d))
        }
        ops += try processOps(process, seccomp: linux.seccomp, startHooks: spec.hooks?.startContainer ?? [], waitStart: true)
        return ops
    }

    /// The steps from credentials to exec, shared by create and exec.
    func processOps(_ process: Spec.Process, seccomp: Spec.Seccomp?, startHooks: [Spec.Hook], waitStart: Bool) throws -> [InitOp] {
        guard let args = process.args, !args.isEmpty, !args[0].isEmpty else {
            throw Failure("process.args must name a program to run")
        }
        var ops: [InitOp] = []
        for r in process.rlimits ?? [] {
            guard let res = Rlimits.resource(r.type) else { throw Failure("unknown rlimit \(r.type): use one of \(Rlimits.table.keys.sorted().joined(separator: ", "))") }
            ops.append(.rlimit(resource: res, soft: r.soft, hard: r.hard))
        }
        if let m = process.user.umask { ops.append(.umask(m)) }

        let nnp = process.noNewPrivileges == true
        var seccompOp: InitOp?
        if let sc = seccomp {
            let prog = try compileSeccomp(sc)
            seccompOp = .seccomp(bpf: prog.bpf, flags: prog.flags)
        }
        if process.terminal == true {
            // Before dropping privileges (binding /dev/console needs CAP_SYS_ADMIN) and before
            // the filter (Docker's denies open_tree and move_mount, which the bind uses).
            ops.append(.console(rows: process.consoleSize?.height ?? 0, cols: process.consoleSize?.width ?? 0,
                                bindDevConsole: waitStart))
        }
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before dropping caps.
        if !nnp, let s = seccompOp { ops.append(s) }
        let caps = try Capabilities.resolve(process.capabilities, warn: warn)
        ops.append(.capBounding(caps.bounding))
        ops.append(.user(uid: process.user.uid, gid: process.user.gid, groups: process.user.additionalGids ?? []))
        ops.append(.caps(effective: caps.effective, permitted: caps.permitted, inheritable: caps.inheritable,
                         ambient: caps.ambient))
        ops.append(.chdir(process.cwd))
        ops.append(.closeFds(from: 3 + preserveFds))
        let env = process.env ?? []
        let path = env.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? ""
        ops.append(.lookup(file: args[0], path: path))
        ops.append(.deathsig(parentDeathSignal))
        // A filter with a listener is loaded before READY, so that `create` has its fd
        // to hand to the agent (`start` is another process, after create has exited).
        let early = !(seccomp?.listenerPath ?? "").isEmpty
        if nnp && early { ops.append(.noNewPrivileges) }
        if nnp && early, let s = seccompOp { ops.append(s) }
        ops.append(.ready)
        if waitStart { ops.append(.waitStart) }
        for h in startHooks {
            ops.append(.hook(path: h.path, stdin: hookState, timeout: h.timeout ?? 0, args: h.args ?? [], env: h.env ?? Environment.current()))
        }
        if nnp && !early { ops.append(.noNewPrivileges) }
        if nnp && !early, let s = seccompOp { ops.append(s) }
        if reaper { ops.append(.reaper) }
        ops.append(.exec(args: args, env: env))
        return ops
    }

    /// A process joining a running container: setns through the init's pidfd, fork (pid and
    /// time namespaces apply to children), then the same credential steps as create.
    public func buildExec(_ process: Spec.Process) throws -> [InitOp] {
        let linux = spec.linux ?? Spec.Linux()
        var flags: Int32 = 0
        for ns in linux.namespaces ?? [] {
            guard let f = Namespaces.flag(ns.type) else { throw Failure("unknown namespace type \(ns.type): use pid, network, mount, ipc, uts, user, cgroup or time") }
            flags |= f
        }
        return [.join(flags: flags), .fork]
            + (try processOps(process, seccomp: linux.seccomp, startHooks: [], waitStart: false))
    }
}

public enum Namespaces {
    /// Each namespace type with its CLONE_NEW* flag.
    static let all: [(type: String, flag: Int32)] = [
        ("pid", 0x2000_0000), ("network", 0x4000_0000), ("mount", 0x0002_0000), ("ipc", 0x0800_0000),
        ("uts", 0x0400_0000), ("user", 0x1000_0000), ("cgroup", 0x0200_0000), ("time", 0x0000_0080),
    ]
    public static let newUser = UInt64(0x1000_0000)

    public static func flag(_ type: String) -> Int32? { all.first { $0.type == type }?.flag }

    /// "pid,network,...": the namespaces in a clone flag set.
    static func describe(_ flags: UInt64) -> String {
        all.filter { flags & UInt64(UInt32(bitPattern: $0.flag)) != 0 }.map(\.type).joined(separator: ",")
    }

    /// The clone3 flags for namespaces the spec wants created (no path).
    /// A new user namespace and another namespace joined by path: clone3 makes none, the
    /// init joins and then unshares (PlanBuilder).
    public static func newUserAfterJoins(_ namespaces: [Spec.Namespace]) -> Bool {
        namespaces.contains { $0.type == "user" && ($0.path ?? "").isEmpty }
            && namespaces.contains { $0.type != "user" && !($0.path ?? "").isEmpty }
    }

    public static func cloneFlags(_ namespaces: [Spec.Namespace]) throws -> UInt64 {
        var flags: UInt64 = 0
        var seen = Set<String>()
        for ns in namespaces {
            guard let f = flag(ns.type) else { throw Failure("unknown namespace type \(ns.type): use pid, network, mount, ipc, uts, user, cgroup or time") }
            guard seen.insert(ns.type).inserted else { throw Failure("namespace \(ns.type) is listed twice") }
            if (ns.path ?? "").isEmpty { flags |= UInt64(UInt32(bitPattern: f)) }
        }
        return flags
    }
}

public enum Rlimits {
    static let table: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
        "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
        "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
        "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]
    public static func resource(_ name: String) -> Int32? { table[name] }
}
