import CArchive
import ImageStore
import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// Docker-style containers from images: rootfs (overlayfs of the image's layers), the
/// runtime spec from image config + flags, and the runtime core to run it.
/// For now `run` is foreground and removes the container when it exits (the detached
/// supervisor, ps, logs, stop and rm come with the engine issue).
public final class Engine {
    public let store: ImageStore
    public var warn: (String) -> Void = { _ in }

    public init(store: ImageStore) {
        self.store = store
    }

    var containers: String { store.root + "/containers" }
    var runtimeState: String { store.root + "/runtime" }

    /// Docker's 14 default capabilities.
    public static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    public struct RunOptions {
        public var image: String
        public var overrides = RunConfig.Overrides()
        public var name: String?
        public var hostname: String?
        public var readOnly = false
        public init(image: String) { self.image = image }
    }

    /// Finds an image by name or ID prefix, with the hint a user needs when it is missing.
    public func findImage(_ ref: String) throws -> ImageStore.Image {
        do { return try store.find(ref) } catch {
            throw Failure("unable to find image '\(ref)' locally: load it with `swiftrun load -i FILE` (pull is not implemented yet)")
        }
    }

    static func newID() -> String {
        (0..<32).map { _ in String(UInt8.random(in: 0...255), radix: 16).leftPad(2) }.joined()
    }

    /// Creates, runs and removes a container in the foreground; returns its exit code.
    public func run(_ o: RunOptions) throws -> Int32 {
        let image = try findImage(o.image)
        let config = try JSON.decode(ImageConfig.self, from: try store.readBlob(image.id), what: "image config \(image.id)")
        let id = Self.newID()
        let dir = containers + "/" + id
        try Files.mkdirAll(containers, mode: 0o700)
        guard mkdir(dir, 0o700) == 0 else { throw SysError("mkdir", dir) }
        var mounted = false
        defer {
            if mounted { umount2(dir + "/rootfs", Int32(MNT_DETACH)) }
            try? Files.removeTree(dir)
        }
        for d in ["work", "rootfs", "bundle"] { try Files.mkdirAll(dir + "/" + d, mode: 0o700) }
        // The merged root takes the upper dir's mode: 0755, or no user but root gets in.
        try Files.mkdirAll(dir + "/upper", mode: 0o755)
        // overlayfs: the image's layers, top first, under the container's own upper dir.
        let lower = image.layers.reversed().map { store.layerPath($0.chainID) }.joined(separator: ":")
        let opts = "lowerdir=\(lower),upperdir=\(dir)/upper,workdir=\(dir)/work"
        guard mount("overlay", dir + "/rootfs", "overlay", 0, opts) == 0 else { throw SysError("mount overlay", dir + "/rootfs") }
        mounted = true

        let rootfs = dir + "/rootfs"
        let rc = try RunConfig.resolve(config.config, o.overrides, passwd: Self.readInRoot(rootfs, "/etc/passwd"),
                                       group: Self.readInRoot(rootfs, "/etc/group"),
                                       callerEnv: Dictionary(Environment.current().compactMap { kv -> (String, String)? in
                                           guard let eq = kv.firstIndex(of: "=") else { return nil }
                                           return (String(kv[..<eq]), String(kv[kv.index(after: eq)...]))
                                       }, uniquingKeysWith: { a, _ in a }))
        let hostname = o.hostname ?? String(id.prefix(12))
        var spec = Self.spec(rc, hostname: hostname, readOnly: o.readOnly)
        spec.root = .init(path: rootfs, readonly: o.readOnly)
        try Files.writeAtomic(dir + "/bundle/config.json", try JSON.encode(spec, pretty: true), mode: 0o600)

        let rt = Runtime(root: runtimeState)
        rt.warn = warn
        return try rt.run(id: id, options: Runtime.CreateOptions(bundle: dir + "/bundle"), detach: false, keep: false)
    }

    /// Reads a file of the image by a path resolved inside its rootfs (a symlinked
    /// /etc/passwd in a hostile image cannot make us read the host's).
    static func readInRoot(_ rootfs: String, _ path: String) -> String? {
        guard let d = try? FD.open(rootfs, O_RDONLY | O_DIRECTORY) else { return nil }
        let fd = sr_open_in_dir(d.raw, path)
        guard fd >= 0 else { return nil }
        return (try? FD(fd).readToEnd()).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The runtime spec for a Docker-style container.
    public static func spec(_ rc: RunConfig, hostname: String, readOnly: Bool) -> Spec {
        var p = Spec.Process(terminal: false, args: rc.args, env: rc.env + ["HOSTNAME=\(hostname)"], cwd: rc.cwd,
                             capabilities: .init(bounding: defaultCapabilities, effective: defaultCapabilities,
                                                 permitted: defaultCapabilities),
                             rlimits: nil, noNewPrivileges: false)
        p.user = .init(uid: rc.uid, gid: rc.gid, additionalGids: rc.additionalGids.isEmpty ? nil : rc.additionalGids)
        var linux = Spec.Linux()
        linux.namespaces = ["pid", "network", "ipc", "uts", "mount", "cgroup"].map { Spec.Namespace(type: $0) }
        linux.maskedPaths = DefaultSpec.maskedPaths
        linux.readonlyPaths = DefaultSpec.readonlyPaths
        linux.seccomp = DefaultSeccomp.profile()
        return Spec(process: p, hostname: hostname, mounts: DefaultSpec.standardMounts(), linux: linux)
    }
}

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
