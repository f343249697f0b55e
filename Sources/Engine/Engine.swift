import ImageStore
import Network
import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// Docker-style containers from images, with no daemon. On disk under the store root:
///   containers/<id>/config.json   the record (Container), written once by create
///   containers/<id>/state.json    ContainerState, written by the supervisor (atomic renames)
///   containers/<id>/<id>-json.log the json-file log (+ .1 .2 ... rotated)
///   containers/<id>/{upper,work,rootfs,bundle}  overlay dirs and the runtime bundle
///   names/<name> -> <id>           a symlink: made with one syscall, so a name has one owner
///   runtime/                       the runtime core's state (runc-style)
public final class Engine {
    public let store: ImageStore
    public var warn: (String) -> Void = { _ in }

    public init(store: ImageStore) {
        self.store = store
    }

    public var containersDir: String { store.root + "/containers" }
    var namesDir: String { store.root + "/names" }
    public var runtimeRoot: String { store.root + "/runtime" }
    public func dir(_ id: String) -> String { containersDir + "/" + id }
    public func logPath(_ id: String) -> String { dir(id) + "/" + id + "-json.log" }

    public var runtime: Runtime {
        let rt = Runtime(root: runtimeRoot)
        rt.warn = warn
        return rt
    }

    /// Docker's 14 default capabilities.
    public static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    public struct CreateOptions {
        public var image: String
        public var overrides = RunConfig.Overrides()
        public var name: String?
        public var hostname: String?
        public var readOnly = false
        public var autoRemove = false
        public var interactive = false
        public var restart = Container.RestartPolicy(Name: "no", MaximumRetryCount: 0)
        public var stopSignal: String?
        public var stopTimeout: Int?
        public var labels: [String: String] = [:]
        public var logOptions: [String: String] = [:]
        public var health = Health.Overrides()
        public var healthOnFailure = "none"
        public var network: String?
        public var publish: [String] = []
        public var publishAll = false
        public var dns: [String] = []
        public var dnsSearch: [String] = []
        public var dnsOptions: [String] = []
        public var addHosts: [String] = []
        public var aliases: [String] = []
        public var resources = ResourceFlags()
        public var volumes: [String] = []
        public var mounts: [String] = []
        public var tmpfs: [String] = []
        public var security = SecurityFlags()
        public var initProcess = false
        public var tty = false
        public var ulimits: [String] = []
        /// --shm-size (a Docker size) and --sysctl KEY=VALUE.
        public var shmSize: String?
        public var sysctls: [String] = []
        public init(image: String) { self.image = image }
    }

    /// Finds an image by name or ID prefix, with the hint a user needs when it is missing.
    public func findImage(_ ref: String) throws -> ImageStore.Image {
        do { return try store.find(ref) } catch let e as InvalidReference { throw e } catch {
            throw Failure("unable to find image '\(ref)' locally: `swiftrun pull \(ref)` or `swiftrun load -i FILE`")
        }
    }

    static func newID() -> String {
        // SystemRandomNumberGenerator reads getrandom(2).
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }.map { String($0, radix: 16).leftPad(2) }.joined()
    }

    // MARK: create

    /// Image + flags → a created container (record, bundle, name); nothing runs yet.
    public func create(_ o: CreateOptions) throws -> Container {
        let image = try findImage(o.image)
        let config = try JSON.decode(ImageConfig.self, from: try store.readBlob(image.id), what: "image config \(image.id)")
        let health = try Health.resolve(config.config?.Healthcheck, o.health, warn: warn)
        guard ["none", "kill", "restart", "stop"].contains(o.healthOnFailure) else {
            throw Failure("invalid --health-on-failure '\(o.healthOnFailure)': use none, kill, restart or stop")
        }
        let log = try JSONLogWriter.options(o.logOptions)
        if let s = o.stopSignal, Signals.parse(s) == nil { throw Failure("invalid --stop-signal '\(s)': use a signal name or number") }
        if o.autoRemove && o.restart.Name != "no" {
            throw Failure("conflicting options: cannot combine --restart and --rm")
        }
        let netMode = try NetworkMode(o.network, engine: self)
        var ports = try Self.ports(o.publish, publishAll: o.publishAll, exposed: (config.config?.ExposedPorts ?? [:]).keys.sorted())
        let extraHosts = try Self.parseExtraHosts(o.addHosts)
        switch netMode {
        case .host:
            if !ports.isEmpty { warn("Published ports are discarded when using host network mode") }
            ports = []
        case .container:
            if !ports.isEmpty { throw Failure("conflicting options: port publishing and the container type network mode") }
            if o.hostname != nil { throw Failure("conflicting options: hostname and the network mode container:") }
            if !o.dns.isEmpty || !o.addHosts.isEmpty { throw Failure("conflicting options: --dns/--add-host and the network mode container:") }
        case .none:
            break
        case .bridge(let n):
            if n == "bridge" && !o.aliases.isEmpty { throw Failure("network-scoped aliases are only supported for user-defined networks") }
        }

        var hostConfig = Container.HostConfig(
            AutoRemove: o.autoRemove, RestartPolicy: o.restart, ReadonlyRootfs: o.readOnly,
            LogConfig: .init(Type: "json-file", Config: ["max-size": String(log.maxSize), "max-file": String(log.maxFile)]),
            HealthOnFailure: o.healthOnFailure, NetworkMode: netMode.recorded,
            PortBindings: Self.dockerBindings(ports), PublishAllPorts: o.publishAll, Dns: o.dns, DnsSearch: o.dnsSearch,
            DnsOptions: o.dnsOptions, ExtraHosts: o.addHosts, Publish: ports, NetworkAliases: o.aliases)
        try hostConfig.apply(o.resources)
        var userMounts = try o.volumes.map(UserMount.parseVolume) + o.mounts.map(UserMount.parseMount) + o.tmpfs.map(UserMount.parseTmpfs)
        // The image's VOLUMEs: an anonymous volume each, filled from the image, where the user
        // mounted nothing (Docker's rule: redis's /data, postgres's data directory).
        let taken = Set(userMounts.map { Self.cleanPath($0.Target) })
        for v in (config.config?.Volumes ?? [:]).keys.sorted() where !taken.contains(Self.cleanPath(v)) {
            try UserMount.checkTarget(v, spec: "the image's VOLUME \(v)")
            userMounts.append(UserMount(Type: "volume", Source: "", Target: v, ReadOnly: false, Anonymous: true))
        }
        if !o.volumes.isEmpty { hostConfig.Binds = o.volumes }
        if !o.security.capAdd.isEmpty { hostConfig.CapAdd = o.security.capAdd }
        if !o.security.capDrop.isEmpty { hostConfig.CapDrop = o.security.capDrop }
        if o.security.privileged { hostConfig.Privileged = true }
        if o.initProcess { hostConfig.Init = true }
        if !o.security.securityOpt.isEmpty { hostConfig.SecurityOpt = o.security.securityOpt }
        if !o.security.devices.isEmpty { hostConfig.Devices = try o.security.devices.map(DeviceMapping.parse) }
        if !o.overrides.groupAdd.isEmpty { hostConfig.GroupAdd = o.overrides.groupAdd }
        let ulimits = try o.ulimits.map(Ulimit.parse)
        if !ulimits.isEmpty { hostConfig.Ulimits = ulimits }
        if let v = o.shmSize {
            guard let b = ByteSize.parse(v), b > 0 else { throw Failure("invalid argument \"\(v)\" for \"--shm-size\" flag: invalid size: '\(v)' (use e.g. 256m)") }
            hostConfig.ShmSize = b
        }
        let sharedNetns: String?
        switch netMode {
        case .host: sharedNetns = "--network host: that is the host's own network namespace"
        case .container: sharedNetns = "--network container:NAME: that is the other container's network namespace"
        default: sharedNetns = nil
        }
        let sysctls = try Self.checkedSysctls(o.sysctls, sharedNetns: sharedNetns)
        if !sysctls.isEmpty { hostConfig.Sysctls = sysctls }
        let resources = hostConfig.specResources
        try Self.checkLimits(resources, o.resources)

        let id = Self.newID()
        let name = try o.name ?? generateName()
        try Self.validateName(name)
        try Files.mkdirAll(containersDir, mode: 0o700)
        try Files.mkdirAll(namesDir, mode: 0o700)
        let dir = self.dir(id)
        // The directory first, saying who makes it: a name whose container has no record
        // and no live maker is what a killed `create` left, and the next one takes it back.
        guard mkdir(dir, 0o700) == 0 else { throw SysError("mkdir", dir) }
        try Files.writeAtomic(dir + "/creator", Array("\(getpid()) \(Proc.stat(getpid())?.startTime ?? 0)".utf8), mode: 0o600)
        let held = ContainerResources(engine: self, id: id)
        var ok = false
        defer {
            if !ok { _ = try? held.release(upTo: .container, volumes: userMounts.filter { $0.Anonymous == true }.map(\.Source), name: name) }
        }
        try reserve(name: name, id: id)
        for d in ["work", "rootfs", "bundle"] { try Files.mkdirAll(dir + "/" + d, mode: 0o700) }
        // The merged root takes the upper dir's mode: 0755, or no user but root gets in.
        try Files.mkdirAll(dir + "/upper", mode: 0o755)

        // The image's /etc/passwd and /etc/group decide USER: read them through the merged
        // layers, resolved inside that root.
        try held.mountRootfs(layers: image.layers.map { $0.chainID })
        let passwd = Self.readInRoot(dir + "/rootfs", "/etc/passwd"), group = Self.readInRoot(dir + "/rootfs", "/etc/group")
        let volumeMounts = try prepareMounts(&userMounts, rootfs: dir + "/rootfs")
        // The root stays mounted for the first start (the supervisor reuses it): one mount
        // and one unmount fewer on the way to `run`. `rm` and a failed create unmount it.
        if !userMounts.isEmpty { hostConfig.Mounts = userMounts }
        let rc = try RunConfig.resolve(config.config, o.overrides, passwd: passwd, group: group,
                                       callerEnv: Dictionary(Environment.current().compactMap { kv -> (String, String)? in
                                           guard let eq = kv.firstIndex(of: "=") else { return nil }
                                           return (String(kv[..<eq]), String(kv[kv.index(after: eq)...]))
                                       }, uniquingKeysWith: { a, _ in a }))
        var hostname = o.hostname ?? String(id.prefix(12))
        if netMode == .host && o.hostname == nil {
            var buf = [CChar](repeating: 0, count: 256)
            if gethostname(&buf, 255) == 0 { hostname = String(cString: buf) }
        }
        var spec = Self.spec(rc, hostname: hostname, readOnly: o.readOnly)
        spec.root = .init(path: dir + "/rootfs", readonly: o.readOnly)
        spec.linux?.resources = resources
        spec.process?.rlimits = try Ulimit.rlimits(ulimits)
        if let shm = hostConfig.ShmSize, let i = spec.mounts?.firstIndex(where: { $0.destination == "/dev/shm" }) {
            spec.mounts![i].options = (spec.mounts![i].options ?? []).filter { !$0.hasPrefix("size=") } + ["size=\(shm)"]
        }
        if !sysctls.isEmpty { spec.linux?.sysctl = sysctls }
        if o.tty {
            spec.process?.terminal = true
            // Docker: a terminal means TERM=xterm unless the image or -e says otherwise.
            if !(spec.process?.env ?? []).contains(where: { $0.hasPrefix("TERM=") }) { spec.process?.env?.append("TERM=xterm") }
        }
        try Self.applySecurity(o.security, to: &spec, warn: warn)
        try writeNetworkFiles(id, mode: netMode, hostname: hostname, dns: o.dns, dnsSearch: o.dnsSearch, dnsOptions: o.dnsOptions,
                              extraHosts: extraHosts)
        spec.mounts = (spec.mounts ?? []) + networkMounts(id, mode: netMode) + volumeMounts
        switch netMode {
        case .host:
            spec.linux?.namespaces?.removeAll { $0.type == "network" }
        case .container(let other):
            // The path is the other container's init of the moment: the supervisor sets it at each start.
            let ns = spec.linux?.namespaces?.map { $0.type == "network" ? Spec.Namespace(type: "network", path: "/proc/\(other)") : $0 }
            spec.linux?.namespaces = ns
        default: break
        }
        try Files.writeAtomic(dir + "/bundle/config.json", try JSON.encode(spec), mode: 0o600)
        try Files.writeAtomic(dir + "/layers", Array(image.layers.map { $0.chainID }.joined(separator: "\n").utf8), mode: 0o600)

        let now = Time.nowNanos()
        var labels = rc.labels
        for (k, v) in o.labels { labels[k] = v }
        let c = Container(
            Id: id, Name: name, Created: Time.rfc3339Nano(now), CreatedNs: now, Image: o.image, ImageID: image.id,
            Path: rc.args[0], Args: Array(rc.args.dropFirst()),
            Config: .init(Hostname: hostname, User: o.overrides.user ?? config.config?.User ?? "", Env: rc.env,
                          Cmd: o.overrides.command.isEmpty ? (o.overrides.entrypoint != nil ? nil : config.config?.Cmd) : o.overrides.command,
                          Entrypoint: o.overrides.entrypoint.map { $0.isEmpty ? nil : [$0] } ?? config.config?.Entrypoint,
                          WorkingDir: rc.cwd, Labels: labels, StopSignal: o.stopSignal ?? rc.stopSignal, StopTimeout: o.stopTimeout,
                          Healthcheck: health, Image: o.image, OpenStdin: o.interactive, Tty: o.tty, Shell: rc.shell,
                          ExposedPorts: config.config?.ExposedPorts.map { Dictionary(uniqueKeysWithValues: $0.keys.map { ($0, [String: String]()) }) }),
            HostConfig: hostConfig)
        try Files.writeAtomic(dir + "/config.json", try JSON.encode(c), mode: 0o600)
        try saveState(id, ContainerState())
        ok = true
        Events.emit(self, "create", c)
        return c
    }

    /// Docker's rule for names.
    static func validateName(_ name: String) throws {
        let u = Array(name.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }
        guard u.count >= 2, u.count <= 255, alnum(u[0]), u.allSatisfy({ alnum($0) || $0 == 0x5f || $0 == 0x2e || $0 == 0x2d }) else {
            throw Failure("invalid container name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (2 characters or more)")
        }
    }

    /// A name is owned by whoever made names/<name> first: concurrent runs, one winner.
    func reserve(name: String, id: String) throws {
        for attempt in 0..<2 {
            if symlink(id, namesDir + "/" + name) == 0 { return }
            if errno == EEXIST {
                let owner = (try? Files.readlink(namesDir + "/" + name)) ?? "?"
                if attempt == 0 && owner.count == 64 && takeBackHalfMade(owner, name: name) { continue }
                throw Failure("Conflict. The container name \"/\(name)\" is already in use by container \"\(owner)\". "
                              + "You have to remove (or rename) that container to be able to reuse that name.")
            }
            throw SysError("symlink", namesDir + "/" + name)
        }
    }

    /// `container prune`: every directory a killed `create` left (no record, maker gone).
    public func sweepHalfMade() {
        for id in allIDs() where !Files.exists(dir(id) + "/config.json") && makerAlive(id) != true {
            _ = try? ContainerResources(engine: self, id: id).release(upTo: .container)
        }
        for n in (try? Files.list(namesDir)) ?? [] {
            if let id = try? Files.readlink(namesDir + "/" + n), !Files.exists(dir(id)) { unlink(namesDir + "/" + n) }
        }
    }

    /// Is the `create` that made this directory still running? nil: it wrote no creator file.
    func makerAlive(_ id: String) -> Bool? {
        guard let c = try? Files.readString(dir(id) + "/creator") else { return nil }
        let f = c.split(separator: " ")
        guard f.count == 2, let pid = Int32(f[0]), let start = UInt64(f[1]) else { return false }
        return Proc.isAlive(pid, startTime: start)
    }

    /// A container a killed `create` left: no record, and its maker is gone. Its mount,
    /// directory and name go; true if the name is free now.
    func takeBackHalfMade(_ id: String, name: String) -> Bool {
        let d = dir(id)
        if Files.exists(d + "/config.json") { return false }
        switch makerAlive(id) {
        case true?: return false
        case nil where Files.exists(d): return false // being made this instant (the creator file follows the mkdir)
        default: break
        }
        _ = try? ContainerResources(engine: self, id: id).release(upTo: .container, name: name)
        return unlink(namesDir + "/" + name) == 0 || errno == ENOENT
    }

    func generateName() throws -> String {
        for _ in 0..<20 {
            let n = Names.left.randomElement()! + "_" + Names.right.randomElement()!
            if !Files.exists(namesDir + "/" + n) { return n }
        }
        return Names.left.randomElement()! + "_" + Names.right.randomElement()! + String(Int.random(in: 0..<100))
    }

    // MARK: rootfs

    /// Reads a file of the image by a path resolved inside its rootfs (a symlinked
    /// /etc/passwd in a hostile image cannot make us read the host's).
    static func readInRoot(_ rootfs: String, _ path: String) -> String? {
        guard let d = try? FD.open(rootfs, O_RDONLY | O_DIRECTORY), let fd = d.openInside(path) else { return nil }
        return (try? fd.readToEnd()).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The runtime spec for a Docker-style container; `applySecurity` then sets the
    /// capabilities and the seccomp filter that goes with them.
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
        return Spec(process: p, hostname: hostname, mounts: DefaultSpec.standardMounts(), linux: linux)
    }

    // MARK: records and state

    public func load(_ id: String) throws -> Container {
        try JSON.decode(Container.self, from: try Files.read(dir(id) + "/config.json"), what: "container \(id)")
    }

    public func loadState(_ id: String) -> ContainerState {
        (try? JSON.decode(ContainerState.self, from: try Files.read(dir(id) + "/state.json"), what: "state")) ?? ContainerState()
    }

    public func saveState(_ id: String, _ s: ContainerState) throws {
        try Files.writeAtomic(dir(id) + "/state.json", try JSON.encode(s), mode: 0o600)
    }

    /// Is the supervisor that wrote this state still there?
    public static func supervisorAlive(_ s: ContainerState) -> Bool {
        s.SupervisorPid > 0 && Proc.isAlive(s.SupervisorPid, startTime: s.SupervisorStart)
    }

    /// The state as it is: a "running" state whose supervisor is gone means the container
    /// died with it (its init has the supervisor as parent-death signal source).
    public func view(_ id: String) throws -> ContainerView {
        let c = try load(id)
        var s = loadState(id)
        if (s.Running || s.Restarting) && !Self.supervisorAlive(s) {
            s.Status = .exited
            s.Running = false
            s.Restarting = false
            s.Paused = false
            if s.Pid != 0 { s.ExitCode = 137 }
            s.Pid = 0
            if s.Error.isEmpty { s.Error = "the supervisor (pid \(s.SupervisorPid)) died; the container was killed with it" }
            if s.Health != nil { s.Health!.Status = .unhealthy }
            s.NetworkSettings = nil
            if s.FinishedNs == 0 {
                // Died unrecorded: its last state write is the best time we have.
                var st = stat()
                if stat(dir(id) + "/state.json", &st) == 0 {
                    s.FinishedNs = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
                    s.FinishedAt = Time.rfc3339Nano(s.FinishedNs)
                }
            }
        }
        return ContainerView(container: c, state: s, dir: dir(id))
    }

    public func allIDs() -> [String] {
        ((try? Files.list(containersDir)) ?? []).filter { $0.count == 64 }
    }

    public func list() -> [ContainerView] {
        allIDs().compactMap { try? view($0) }.sorted { $0.container.CreatedNs > $1.container.CreatedNs }
    }

    /// A full ID, a name, or a unique ID prefix → the full ID.
    public func resolve(_ ref: String) throws -> String {
        if ref.count == 64, Files.exists(dir(ref) + "/config.json") { return ref }
        let name = ref.hasPrefix("/") ? String(ref.dropFirst()) : ref
        if !name.isEmpty, !name.contains("/"), let id = try? Files.readlink(namesDir + "/" + name), Files.exists(dir(id) + "/config.json") {
            return id
        }
        let matches = allIDs().filter { $0.hasPrefix(ref) }
        if matches.count == 1, !ref.isEmpty { return matches[0] }
        if matches.count > 1 { throw Failure("multiple containers match the ID prefix \"\(ref)\": give more characters") }
        throw Failure("No such container: \(ref) (`swiftrun ps -a` lists names and IDs)")
    }
}


/// Docker-style generated names (adjective_scientist).
enum Names {
    static let left = ["admiring", "agitated", "amazing", "angry", "awesome", "blissful", "bold", "brave", "busy", "charming",
                       "clever", "cool", "dazzling", "determined", "eager", "ecstatic", "elegant", "epic", "focused",
                       "friendly", "gallant", "gifted", "goofy", "happy", "hopeful", "jolly", "keen", "kind", "loving",
                       "modest", "nice", "nifty", "optimistic", "pensive", "quirky", "relaxed", "serene", "sharp",
                       "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant", "wizardly", "youthful", "zealous"]
    static let right = ["albattani", "archimedes", "babbage", "bardeen", "bohr", "booth", "carson", "curie", "darwin",
                        "dijkstra", "einstein", "euclid", "fermat", "feynman", "galileo", "gauss", "hamilton", "hopper",
                        "hypatia", "johnson", "kepler", "knuth", "lamarr", "lovelace", "mayer", "mccarthy", "meitner",
                        "noether", "pascal", "perlman", "ritchie", "shannon", "sinoussi", "thompson", "torvalds",
                        "turing", "wilson", "wozniak", "yalow"]
}
