import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// A mount the user asked for with -v, --mount or --tmpfs: HostConfig.Mounts, in the shape
/// of Docker's mount.Mount.
public struct UserMount: Codable, Equatable {
    public var `Type`: String            // bind, volume, tmpfs
    public var Source: String            // host path, volume name ("" until an anonymous one is named), ""
    public var Target: String
    public var ReadOnly: Bool
    /// -v /path: a volume named at create, removed with the container by `rm -v` and `--rm`.
    public var Anonymous: Bool?
    /// -v creates a missing host directory; --mount type=bind refuses it, as Docker's.
    public var CreateSource: Bool?
    public var NoCopy: Bool?
    public var TmpfsOptions: [String]?

    /// `-v [SRC:]DST[:OPTS]`: an absolute SRC is a host path, any other a volume name; DST alone is an anonymous volume.
    public static func parseVolume(_ s: String) throws -> UserMount {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var m: UserMount
        var opts: [String] = []
        switch parts.count {
        case 1: m = UserMount(Type: "volume", Source: "", Target: parts[0], ReadOnly: false, Anonymous: true)
        case 2, 3:
            m = UserMount(Type: parts[0].hasPrefix("/") ? "bind" : "volume", Source: parts[0], Target: parts[1], ReadOnly: false)
            if parts.count == 3 { opts = parts[2].split(separator: ",").map(String.init) }
        default: throw Failure("invalid volume specification: '\(s)': use [SOURCE:]TARGET[:ro]")
        }
        if m.Type == "bind" { m.CreateSource = true }
        for o in opts {
            switch o {
            case "ro": m.ReadOnly = true
            case "rw": m.ReadOnly = false
            case "nocopy": m.NoCopy = true
            case "z", "Z", "rprivate", "private": break // SELinux relabel: no SELinux here; rprivate is what we do
            default: throw Failure("invalid volume specification: '\(s)': unknown option '\(o)' (use ro, rw, nocopy)")
            }
        }
        if m.Type == "volume" && !m.Source.isEmpty { try validVolumeName(m.Source, spec: s) }
        try checkTarget(m.Target, spec: s)
        return m
    }

    /// `--mount type=bind|volume|tmpfs,source=,target=,readonly,volume-nocopy,tmpfs-size=,tmpfs-mode=`.
    public static func parseMount(_ s: String) throws -> UserMount {
        var m = UserMount(Type: "volume", Source: "", Target: "", ReadOnly: false)
        var tmpfs: [String] = []
        for field in s.split(separator: ",").map(String.init) {
            let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0].lowercased(), value = kv.count > 1 ? kv[1] : nil
            func bool() throws -> Bool {
                guard let value else { return true }
                switch value.lowercased() {
                case "1", "true": return true
                case "0", "false": return false
                default: throw Failure("invalid argument \"\(s)\" for \"--mount\" flag: invalid value for \(key): \(value)")
                }
            }
            switch key {
            case "type":
                guard let value, ["bind", "volume", "tmpfs"].contains(value) else {
                    throw Failure("invalid argument \"\(s)\" for \"--mount\" flag: type must be bind, volume or tmpfs")
                }
                m.Type = value
            case "source", "src": m.Source = value ?? ""
            case "target", "destination", "dst": m.Target = value ?? ""
            case "readonly", "ro": m.ReadOnly = try bool()
            case "volume-nocopy": m.NoCopy = try bool()
            case "tmpfs-size":
                guard let value, let b = ByteSize.parse(value) else { throw Failure("invalid argument \"\(s)\" for \"--mount\" flag: bad tmpfs-size") }
                tmpfs.append("size=\(b)")
            case "tmpfs-mode":
                guard let value, UInt32(value, radix: 8) != nil else { throw Failure("invalid argument \"\(s)\" for \"--mount\" flag: tmpfs-mode is octal (1777)") }
                tmpfs.append("mode=\(value)")
            case "bind-propagation", "consistency": break
            default: throw Failure("invalid argument \"\(s)\" for \"--mount\" flag: unexpected key '\(key)' in '\(field)'")
            }
        }
        guard !m.Target.isEmpty else { throw Failure("invalid argument \"\(s)\" for \"--mount\" flag: target is required") }
        switch m.Type {
        case "bind":
            guard m.Source.hasPrefix("/") else { throw Failure("invalid mount config for type \"bind\": source must be an absolute host path (\"\(m.Source)\")") }
        case "volume":
            if m.Source.isEmpty { m.Anonymous = true } else { try validVolumeName(m.Source, spec: s) }
        default:
            guard m.Source.isEmpty else { throw Failure("invalid mount config for type \"tmpfs\": source must not be given") }
            m.TmpfsOptions = tmpfs
        }
        if m.Type != "tmpfs" && !tmpfs.isEmpty { throw Failure("invalid mount config for type \"\(m.Type)\": tmpfs options are for type=tmpfs") }
        try checkTarget(m.Target, spec: s)
        return m
    }

    /// `--tmpfs /path[:size=64m,mode=1777,...]`.
    public static func parseTmpfs(_ s: String) throws -> UserMount {
        let parts = s.split(separator: ":", maxSplits: 1).map(String.init)
        var opts: [String] = []
        if parts.count == 2 {
            for o in parts[1].split(separator: ",").map(String.init) {
                if o.hasPrefix("size="), let b = ByteSize.parse(String(o.dropFirst(5))) { opts.append("size=\(b)"); continue }
                let allowed = ["ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "mode=", "uid=", "gid=", "nr_inodes="]
                guard allowed.contains(where: { $0.hasSuffix("=") ? o.hasPrefix($0) : o == $0 }) else {
                    throw Failure("invalid --tmpfs '\(s)': unknown option '\(o)'")
                }
                opts.append(o)
            }
        }
        try checkTarget(parts[0], spec: s)
        return UserMount(Type: "tmpfs", Source: "", Target: parts[0], ReadOnly: opts.contains("ro"), TmpfsOptions: opts.filter { $0 != "ro" && $0 != "rw" })
    }

    static func validVolumeName(_ n: String, spec: String) throws {
        guard Engine.validVolumeName(n) else {
            throw Failure("\"\(n)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
                          + "If you intended to pass a host directory, use absolute path")
        }
    }

    static func checkTarget(_ t: String, spec: String) throws {
        guard t.hasPrefix("/") else { throw Failure("invalid mount config: invalid mount path: '\(t)' mount path must be absolute") }
        guard t != "/" else { throw Failure("invalid specification: destination can't be '/' in '\(spec)'") }
    }
}

/// A local volume: <root>/volumes/<name>/{_data,volume.json}, Docker's inspect shape.
public struct VolumeRecord: Codable {
    public var Name: String
    public var Driver = "local"
    public var Mountpoint: String
    public var CreatedAt: String
    public var Labels: [String: String]
    public var Scope = "local"
    public var Options: [String: String] = [:]
    /// swiftrun: made for one container by -v /path (goes with it on rm -v / --rm).
    public var Anonymous: Bool?
    /// Filled from an image's directory once; never again.
    public var Seeded: Bool?
}

extension Engine {
    /// Docker's rule for volume names (which also keeps a name inside volumes/).
    static func validVolumeName(_ n: String) -> Bool {
        let u = Array(n.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }
        return u.count >= 2 && u.count <= 255 && alnum(u[0]) && u.allSatisfy { alnum($0) || $0 == 0x5f || $0 == 0x2e || $0 == 0x2d }
    }

    var volumesDir: String { store.root + "/volumes" }
    func volumeDir(_ name: String) -> String { volumesDir + "/" + name }

    public func volume(_ name: String) throws -> VolumeRecord {
        guard Self.validVolumeName(name), let data = try? Files.read(volumeDir(name) + "/volume.json") else {
            throw Failure("get \(name): no such volume (`swiftrun volume ls` lists them)")
        }
        return try JSON.decode(VolumeRecord.self, from: data, what: "volume \(name)")
    }

    public func volumes() -> [VolumeRecord] {
        ((try? Files.list(volumesDir)) ?? []).filter { !$0.hasPrefix(".") }.sorted().compactMap { try? volume($0) }
    }

    /// Makes a volume (`volume create`, or a run naming a new one): in a temporary
    /// directory first, then one rename, so a reader never sees half a volume and two
    /// concurrent creators agree on one. `seed`, when given, fills it before the rename.
    /// An existing volume is returned as it is.
    @discardableResult
    public func createVolume(_ name: String?, labels: [String: String] = [:], anonymous: Bool = false,
                             seed: ((String) throws -> Bool)? = nil) throws -> (VolumeRecord, created: Bool) {
        let name = name ?? Self.newID()
        guard Self.validVolumeName(name) else {
            throw Failure("invalid volume name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        if let v = try? volume(name) { return (v, false) }
        try Files.mkdirAll(volumesDir, mode: 0o700)
        let tmp = volumesDir + "/.new-" + Self.newID().prefix(16)
        defer { try? Files.removeTree(tmp) }
        guard mkdir(tmp, 0o700) == 0, mkdir(tmp + "/_data", 0o755) == 0 else { throw SysError("mkdir", tmp) }
        var rec = VolumeRecord(Name: name, Mountpoint: volumeDir(name) + "/_data", CreatedAt: Time.rfc3339Nano(Time.nowNanos()),
                               Labels: labels, Anonymous: anonymous ? true : nil)
        if let seed, try seed(tmp + "/_data") { rec.Seeded = true }
        try Files.writeAtomic(tmp + "/volume.json", try JSON.encode(rec), mode: 0o600)
        if Glibc.rename(tmp, volumeDir(name)) != 0 {
            if errno == EEXIST || errno == ENOTEMPTY, let v = try? volume(name) { return (v, false) }
            throw SysError("rename", volumeDir(name))
        }
        return (rec, true)
    }

    /// Containers whose mounts name the volume.
    public func volumeUsers(_ name: String) -> [Container] {
        allIDs().compactMap { try? load($0) }.filter { c in
            (c.HostConfig.Mounts ?? []).contains { $0.Type == "volume" && $0.Source == name }
        }
    }

    public func removeVolume(_ name: String, force: Bool = false) throws {
        _ = try volume(name)
        let users = volumeUsers(name)
        if !users.isEmpty && !force {
            throw Failure("remove \(name): volume is in use - [\(users.map(\.Id).joined(separator: ", "))] (remove those containers first)")
        }
        // Out of sight with one rename, then deleted: a failure halfway leaves no half volume.
        let doomed = volumesDir + "/.rm-" + Self.newID().prefix(16)
        guard Glibc.rename(volumeDir(name), doomed) == 0 else { throw SysError("rename", volumeDir(name)) }
        try Files.removeTree(doomed)
    }

    /// -v/--mount/--tmpfs → mounts for the spec, with volumes made (and seeded from the
    /// image's directory, as Docker does for a new or empty volume) and anonymous ones named.
    /// `rootfs` is the container's merged root, mounted.
    func prepareMounts(_ mounts: inout [UserMount], rootfs: String) throws -> [Spec.Mount] {
        var seen = Set<String>()
        for m in mounts {
            let t = Self.cleanPath(m.Target)
            guard seen.insert(t).inserted else { throw Failure("Duplicate mount point: \(t)") }
        }
        var out: [Spec.Mount] = []
        for i in mounts.indices {
            var m = mounts[i]
            switch m.Type {
            case "bind":
                if !Files.exists(m.Source) {
                    guard m.CreateSource == true else {
                        throw Failure("invalid mount config for type \"bind\": bind source path does not exist: \(m.Source)")
                    }
                    try Files.mkdirAll(m.Source)
                }
                out.append(Spec.Mount(destination: m.Target, type: "bind", source: m.Source, options: ["rbind", "rprivate"] + (m.ReadOnly ? ["ro"] : [])))
            case "volume":
                let seed: ((String) throws -> Bool)? = m.NoCopy == true ? nil : { dst in try Self.copyImageDir(rootfs: rootfs, path: m.Target, to: dst) }
                let (v, created) = try createVolume(m.Anonymous == true ? nil : m.Source, anonymous: m.Anonymous == true, seed: seed)
                m.Source = v.Name
                if !created, v.Seeded != true, let seed, ((try? Files.list(v.Mountpoint)) ?? ["?"]).isEmpty, try seed(v.Mountpoint) {
                    var r = v
                    r.Seeded = true
                    try Files.writeAtomic(volumeDir(v.Name) + "/volume.json", try JSON.encode(r), mode: 0o600)
                }
                out.append(Spec.Mount(destination: m.Target, type: "bind", source: v.Mountpoint, options: ["rbind", "rprivate"] + (m.ReadOnly ? ["ro"] : [])))
            default:
                var opts = ["nosuid", "nodev", "noexec"]
                for o in m.TmpfsOptions ?? [] {
                    if o == "exec" || o == "suid" || o == "dev" { opts.removeAll { $0 == "no" + o } } else if !o.hasPrefix("no") { opts.append(o) }
                }
                out.append(Spec.Mount(destination: m.Target, type: "tmpfs", source: "tmpfs", options: opts + (m.ReadOnly ? ["ro"] : [])))
            }
            mounts[i] = m
        }
        // Parents before children, as Docker sorts them.
        return out.sorted { Self.cleanPath($0.destination).split(separator: "/").count < Self.cleanPath($1.destination).split(separator: "/").count }
    }

    static func cleanPath(_ p: String) -> String {
        "/" + p.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    /// Copies the image's directory at `path` (resolved inside the root: an image whose
    /// path is a symlink to /etc cannot make us copy the host's /etc, CVE-2018-15664's
    /// family) into `dst`, owners, modes and links kept; false when the image has no
    /// such directory.
    static func copyImageDir(rootfs: String, path: String, to dst: String) throws -> Bool {
        let root = try FD.open(rootfs, O_RDONLY | O_DIRECTORY)
        guard let dir = root.openInside(path) else { return false }
        var st = stat()
        guard fstat(dir.raw, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return false }
        // cp reads the tree below the fd and never follows its symlinks (-a implies -P).
        let r = try Subprocess.run("/bin/cp", args: ["cp", "-a", "--", "/proc/\(getpid())/fd/\(dir.raw)/.", dst], env: [], captureOutput: true)
        guard r.status == 0 else {
            throw Failure("copy the image's \(path) into the volume \(dst): cp: \(String(decoding: r.output, as: UTF8.self).trimmed())")
        }
        return true
    }
}

/// A mount as `inspect` shows it (Docker's types.MountPoint).
public struct MountPointView: Encodable {
    public var `Type`: String
    public var Name: String?
    public var Source: String
    public var Destination: String
    public var Driver: String?
    public var Mode: String
    public var RW: Bool
    public var Propagation: String
}

extension Engine {
    public func mountViews(_ c: Container) -> [MountPointView] {
        (c.HostConfig.Mounts ?? []).map { m in
            switch m.Type {
            case "volume":
                return MountPointView(Type: "volume", Name: m.Source, Source: volumeDir(m.Source) + "/_data", Destination: m.Target,
                                      Driver: "local", Mode: m.ReadOnly ? "ro" : "", RW: !m.ReadOnly, Propagation: "")
            case "bind":
                return MountPointView(Type: "bind", Source: m.Source, Destination: m.Target, Mode: m.ReadOnly ? "ro" : "", RW: !m.ReadOnly,
                                      Propagation: "rprivate")
            default:
                return MountPointView(Type: "tmpfs", Source: "", Destination: m.Target, Mode: (m.TmpfsOptions ?? []).joined(separator: ","),
                                      RW: !m.ReadOnly, Propagation: "")
            }
        }
    }
}
