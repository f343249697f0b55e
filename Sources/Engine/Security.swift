import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// --cap-add, --cap-drop, --privileged and --security-opt, with Docker's meaning.
public struct SecurityFlags {
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    public var privileged = false
    public var securityOpt: [String] = []
    /// --device HOST[:CONTAINER[:PERMS]]
    public var devices: [String] = []
    public init() {}
}

/// One --device, as Docker records it (HostConfig.Devices).
public struct DeviceMapping: Codable, Equatable {
    public var PathOnHost: String
    public var PathInContainer: String
    public var CgroupPermissions: String

    /// HOST[:CONTAINER[:PERMS]]: a device node of the host (symlinks followed, as Docker
    /// does for /dev/disk/by-id/...). PERMS other than rwm cannot be kept here: the device
    /// cgroup allows a container's own device nodes whole, as runc does.
    public static func parse(_ spec: String) throws -> DeviceMapping {
        let f = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(f.count), f[0].hasPrefix("/") else { throw Failure("invalid --device \(spec): use HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]") }
        let inside = f.count > 1 && !f[1].isEmpty ? f[1] : f[0]
        let perms = f.count > 2 ? f[2] : "rwm"
        guard inside.hasPrefix("/") else { throw Failure("invalid --device \(spec): the container's path must be absolute") }
        guard perms == "rwm" || perms == "mrw" || perms == "rw" else {
            throw Failure("--device \(spec): permissions \(perms) cannot be enforced here (a container's own devices are allowed rwm, as runc does): give rwm")
        }
        return DeviceMapping(PathOnHost: f[0], PathInContainer: inside, CgroupPermissions: "rwm")
    }

    /// The spec's device node for it.
    func specDevice() throws -> Spec.Device {
        var st = stat()
        guard stat(PathOnHost, &st) == 0 else { throw SysError("stat (--device)", PathOnHost) }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFCHR || kind == S_IFBLK else { throw Failure("--device \(PathOnHost): not a device node (a character or block device)") }
        return Spec.Device(type: kind == S_IFCHR ? "c" : "b", path: PathInContainer, major: Engine.major(UInt64(st.st_rdev)),
                           minor: Engine.minor(UInt64(st.st_rdev)), fileMode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid)
    }
}

extension Engine {
    /// --sysctl KEY=VALUE: only what the container's own namespaces hold (Docker's list: the
    /// IPC ones, fs.mqueue.*, and net.* in a network namespace of its own); anything else
    /// would change the host.
    /// `sharedNetns`: why net.* would reach beyond this container (its network namespace is
    /// the host's or another container's), or nil.
    static func checkedSysctls(_ given: [String], sharedNetns: String?) throws -> [String: String] {
        let ipc: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                "kernel.shmmni", "kernel.shm_rmid_forced"]
        var out: [String: String] = [:]
        for kv in given {
            guard let eq = kv.firstIndex(of: "="), eq != kv.startIndex else { throw Failure("invalid argument \"\(kv)\" for \"--sysctl\" flag: use KEY=VALUE") }
            let key = String(kv[..<eq]).replacing("/", with: "."), value = String(kv[kv.index(after: eq)...])
            if key.hasPrefix("net.") {
                if let why = sharedNetns { throw Failure("--sysctl \(key): not with \(why)") }
            } else if !ipc.contains(key) && !key.hasPrefix("fs.mqueue.") {
                throw Failure("--sysctl \(key): not namespaced, it would change the host (allowed: net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)")
            }
            out[key] = value
        }
        return out
    }

    /// "net_admin", "CAP_NET_ADMIN", "ALL" → "CAP_NET_ADMIN" / "ALL".
    static func capName(_ s: String) throws -> String {
        let u = s.uppercased()
        if u == "ALL" { return u }
        let name = u.hasPrefix("CAP_") ? u : "CAP_" + u
        guard DefaultSpec.allCapabilities.contains(name) else { throw Failure("unknown capability: \"\(name)\"") }
        return name
    }

    /// A capability mask of this process from /proc/self/status ("CapEff", "CapBnd"), or nil.
    static func capabilityMask(_ field: String) -> UInt64? {
        guard let status = try? Files.readString("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
        return UInt64(line.dropFirst(field.count + 1).trimmed(), radix: 16)
    }

    /// Whether this process has capability `n` in its effective set.
    static func hasEffectiveCapability(_ n: Int) -> Bool {
        capabilityMask("CapEff").map { $0 & (1 << UInt64(n)) != 0 } ?? true
    }

    /// The capabilities this process holds (its bounding set): what a container can be given.
    static func ownCapabilities() -> [String] {
        guard let mask = capabilityMask("CapBnd") else { return DefaultSpec.allCapabilities }
        return DefaultSpec.allCapabilities.filter { n in Capabilities.number(n).map { mask & (1 << UInt64($0)) != 0 } ?? false }
    }

    /// moby's TweakCapabilities: drop ALL empties the set, add ALL fills it; otherwise the
    /// defaults less the drops plus the adds.
    static func capabilities(add: [String], drop: [String], privileged: Bool) throws -> [String] {
        let adds = try add.map(capName), drops = try drop.map(capName)
        let own = ownCapabilities()
        if privileged { return own }
        var caps = drops.contains("ALL") ? [] : defaultCapabilities.filter { !drops.contains($0) }
        if adds.contains("ALL") {
            caps = own.filter { !drops.contains($0) || drops.contains("ALL") }
        } else {
            for a in adds where !caps.contains(a) { caps.append(a) }
        }
        return caps
    }

    /// Applies the security flags to the spec Engine.spec made (Docker's defaults). Read
    /// files (a seccomp profile) are embedded: the container does not depend on them later.
    static func applySecurity(_ f: SecurityFlags, to spec: inout Spec, warn: (String) -> Void) throws {
        let caps = try capabilities(add: f.capAdd, drop: f.capDrop, privileged: f.privileged)
        spec.process?.capabilities = .init(bounding: caps, effective: caps, permitted: caps)
        // Docker's filter, made for these capabilities (--cap-add SYS_ADMIN lets mount through);
        // --privileged and --security-opt seccomp= below replace it.
        spec.linux?.seccomp = DefaultSeccomp.profile(capabilities: caps)
        if f.privileged {
            spec.linux?.seccomp = nil
            spec.linux?.maskedPaths = nil
            spec.linux?.readonlyPaths = nil
            spec.mounts = spec.mounts?.map { m in
                var m = m
                if m.destination == "/sys" || m.destination == "/sys/fs/cgroup" { m.options = m.options?.filter { $0 != "ro" } }
                return m
            }
            spec.linux?.devices = hostDevices()
            var r = spec.linux?.resources ?? Spec.Resources()
            r.devices = [.init(allow: true, type: "a", major: nil, minor: nil, access: "rwm")]
            spec.linux?.resources = r
        }
        // --device: the node in the container's /dev, allowed by its device cgroup.
        for d in f.devices {
            let node = try DeviceMapping.parse(d).specDevice()
            let others = (spec.linux?.devices ?? []).filter { $0.path != node.path }
            spec.linux?.devices = others + [node]
        }
        for opt in f.securityOpt {
            let kv = opt.split(separator: opt.contains("=") ? "=" : ":", maxSplits: 1).map(String.init)
            let key = kv[0], value = kv.count > 1 ? kv[1] : nil
            switch key {
            case "no-new-privileges":
                guard let b = value.map({ $0 == "true" ? true : $0 == "false" ? false : nil }) ?? true else {
                    throw Failure("invalid --security-opt '\(opt)': no-new-privileges takes true or false")
                }
                spec.process?.noNewPrivileges = b
            case "seccomp":
                guard let value, !value.isEmpty else { throw Failure("invalid --security-opt '\(opt)': use seccomp=unconfined or seccomp=PROFILE.json") }
                if value == "unconfined" {
                    spec.linux?.seccomp = nil
                } else if f.privileged {
                    warn("--security-opt seccomp=\(value) is ignored with --privileged (Docker's rule)")
                } else {
                    spec.linux?.seccomp = try seccompProfile(file: value, capabilities: caps)
                }
            case "systempaths":
                guard value == "unconfined" else { throw Failure("invalid --security-opt '\(opt)': systempaths takes unconfined") }
                spec.linux?.maskedPaths = nil
                spec.linux?.readonlyPaths = nil
            case "apparmor", "label":
                if value != "unconfined" && value != "disable" {
                    throw Failure("--security-opt \(opt): \(key == "label" ? "SELinux" : "AppArmor") is not supported by swiftrun (seccomp, capabilities and no-new-privileges are)")
                }
            default:
                throw Failure("invalid --security-opt '\(opt)': use no-new-privileges[=true|false], seccomp=unconfined|PROFILE.json, systempaths=unconfined")
            }
        }
    }

    /// Every device node under the host's /dev, for --privileged (as moby's hostDevices).
    static func hostDevices() -> [Spec.Device] {
        var out: [Spec.Device] = []
        func walk(_ dir: String) {
            for name in ((try? Files.list(dir)) ?? []).sorted() {
                let p = dir + "/" + name
                var st = stat()
                guard lstat(p, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    if !["/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/hugepages", "/dev/.lxc"].contains(p) { walk(p) }
                case S_IFCHR, S_IFBLK:
                    if p == "/dev/console" || p == "/dev/ptmx" { continue } // the container has its own
                    out.append(Spec.Device(type: (st.st_mode & S_IFMT) == S_IFCHR ? "c" : "b", path: p,
                                           major: Self.major(UInt64(st.st_rdev)), minor: Self.minor(UInt64(st.st_rdev)),
                                           fileMode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid))
                default: break
                }
            }
        }
        walk("/dev")
        return out
    }

    /// glibc's dev_t encoding (gnu_dev_major/minor are macros Swift does not import).
    static func major(_ d: UInt64) -> Int64 { Int64(((d >> 32) & 0xffff_f000) | ((d >> 8) & 0xfff)) }
    static func minor(_ d: UInt64) -> Int64 { Int64(((d >> 12) & 0xffff_ff00) | (d & 0xff)) }

    /// A seccomp profile file: Docker's format (archMap, includes/excludes by capability
    /// and architecture) or the runtime spec's own.
    static func seccompProfile(file: String, capabilities: [String]) throws -> Spec.Seccomp {
        let data: [UInt8]
        do { data = try Files.read(file) } catch { throw Failure("opening seccomp profile (\(file)) failed: \(error)") }
        return try JSON.decode(DockerSeccomp.self, from: data, what: "seccomp profile \(file)").resolved(capabilities: capabilities)
    }
}

/// Docker's seccomp profile format.
struct DockerSeccomp: Decodable {
    struct Arch: Decodable { var architecture: String; var subArchitectures: [String]? }
    struct Condition: Decodable { var caps: [String]?; var arches: [String]?; var minKernel: String? }
    struct Syscall: Decodable {
        var names: [String]?
        var name: String?
        var action: String
        var errnoRet: UInt32?
        var args: [Spec.Seccomp.Arg]?
        var includes: Condition?
        var excludes: Condition?
    }
    var defaultAction: String
    var defaultErrnoRet: UInt32?
    var architectures: [String]?
    var archMap: [Arch]?
    var flags: [String]?
    var syscalls: [Syscall]?

    /// The runtime-spec filter for x86-64 and a container with these capabilities: rules
    /// whose includes (caps, arches, minKernel) do not all hold, or whose excludes match,
    /// are left out.
    func resolved(capabilities: [String], kernel: [Int] = DockerSeccomp.kernelVersion()) -> Spec.Seccomp {
        var arches = architectures ?? []
        for a in archMap ?? [] where a.architecture == "SCMP_ARCH_X86_64" {
            arches = [a.architecture] + (a.subArchitectures ?? [])
        }
        func x86(_ a: [String]?) -> Bool { (a ?? []).contains { $0 == "amd64" || $0 == "x86_64" } }
        var rules: [Spec.Seccomp.Syscall] = []
        for s in syscalls ?? [] {
            if let c = s.includes {
                if let caps = c.caps, !caps.allSatisfy({ capabilities.contains($0) }) { continue }
                if let a = c.arches, !a.isEmpty, !x86(a) { continue }
                if let mk = c.minKernel, kernel.lexicographicallyPrecedes(Self.version(mk)) { continue }
            }
            if let ex = s.excludes, (ex.caps ?? []).contains(where: { capabilities.contains($0) }) || x86(ex.arches) { continue }
            let names = (s.names ?? []) + (s.name.map { [$0] } ?? [])
            guard !names.isEmpty else { continue }
            rules.append(.init(names: names, action: s.action, errnoRet: s.errnoRet, args: s.args))
        }
        return Spec.Seccomp(defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet,
                            architectures: arches.isEmpty ? nil : arches, flags: flags, syscalls: rules)
    }

    /// "4.8" → [4, 8]; "6.18.44-amd64" → [6, 18, 44].
    static func version(_ s: String) -> [Int] {
        s.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
    }

    static func kernelVersion() -> [Int] {
        var u = utsname()
        guard uname(&u) == 0 else { return [0] }
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return version(release)
    }
}
