import CShim
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// An error with the exit code the CLI should use (126/127 for exec failures).
public struct RuntimeError: Error, CustomStringConvertible {
    public var description: String
    public var exitCode: Int32
    public init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }
}

/// What the runtime keeps about a container in <root>/<id>/state.json.
public struct ContainerRecord: Codable {
    public var id: String
    public var bundle: String
    public var rootfs: String
    public var pid: Int32
    public var startTime: UInt64
    public var created: String
    public var cgroupMount: String
    public var cgroupPath: String
    public var cgroupCreated: [String]
    /// What start, state and delete need of the spec; the whole spec is in spec.json
    /// beside this file, decoded only by the commands that need it (exec, update).
    public var annotations: [String: String]?
    public var hooks: Spec.Hooks?
    /// Records written before spec.json existed held the spec here.
    var legacySpec: Spec?

    enum CodingKeys: String, CodingKey {
        case id, bundle, rootfs, pid, startTime, created, cgroupMount, cgroupPath, cgroupCreated, annotations, hooks
        case legacySpec = "spec"
    }
}

/// Bundle → running container, runc-style: state under `root`, one directory per ID.
public final class Runtime {
    public let root: String
    public var warn: (String) -> Void = { msg in
        let line = "swiftrun: warning: \(msg)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// Debug log lines (--debug): phases with the milliseconds since the process started.
    public var debug: ((String) -> Void)?

    var helper: FD?

    public init(root: String) {
        self.root = root
    }

    func trace(_ what: @autoclosure () -> String) {
        guard let debug else { return }
        debug("\(what()) at \(Proc.sinceStartMs()) ms")
    }

    public struct CreateOptions {
        public var bundle: String
        public var pidFile: String?
        public var preserveFds: Int32 = 0
        public var consoleSocket: String?
        /// process.terminal for an in-process caller (the engine's supervisor): the pty
        /// master comes back in Created.console instead of over a console socket.
        public var keepConsole = false
        /// Overrides process.consoleSize (the user's terminal at start).
        public var consoleSize: Spec.Box?
        /// The config file, if not <bundle>/config.json (crun's --config); relative paths
        /// in it still resolve against the bundle.
        public var configPath: String?
        /// The init's stdin, stdout, stderr (nil: the caller's own).
        public var stdio: [Int32]?
        /// See PlanBuilder.parentDeathSignal.
        public var parentDeathSignal: Int32 = 0
        public var loopbackUp = false
        /// --init: a reaping PID 1 (see PlanBuilder.reaper).
        public var reaper = false
        public init(bundle: String) { self.bundle = bundle }
    }

    /// The created init: our child while this process lives.
    public struct Created {
        public var pid: Int32
        public var pidfd: FD
        /// The pty master, with keepConsole.
        public var console: FD? = nil
        /// What create wrote to state.json: `run` goes on with it instead of reading it back.
        public var record: ContainerRecord? = nil

        public init(pid: Int32, pidfd: FD, console: FD? = nil, record: ContainerRecord? = nil) {
            self.pid = pid
            self.pidfd = pidfd
            self.console = console
            self.record = record
        }
    }

    func dir(_ id: String) -> String { root + "/" + id }

    /// Compiled seccomp filters (Seccomp.cached); not a valid container ID, so never listed.
    static let seccompCacheDir = ".seccomp-cache"

    public static func validateID(_ id: String) throws {
        let ok = !id.isEmpty && id.count <= 1024 && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                || c == 0x5f || c == 0x2e || c == 0x2d || c == 0x2b
        } && id != "." && id != ".."
        guard ok else {
            throw RuntimeError("invalid container ID \"\(id)\": use letters, digits, and _ . - + only")
        }
        if id == seccompCacheDir { throw RuntimeError("invalid container ID \"\(id)\": the runtime keeps its filter cache under that name") }
    }

    /// Finds swiftrun-init: $SWIFTRUN_INIT, next to this binary, or libexec.
    public static func initPath() throws -> String { try helperPath("swiftrun-init", env: "SWIFTRUN_INIT") }

    /// A program of ours that lives beside the running binary (a build directory) or in
    /// libexec (an install); `env` overrides.
    public static func helperPath(_ name: String, env: String) throws -> String {
        if let e = getenv(env) { return String(cString: e) }
        var candidates: [String] = []
        if let exe = try? Files.realpath("/proc/self/exe") {
            let dir = String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
            candidates.append(dir + "/" + name)
            candidates.append(dir + "/../libexec/swiftrun/" + name)
        }
        candidates += ["/usr/local/libexec/swiftrun/" + name, "/usr/libexec/swiftrun/" + name]
        for c in candidates where access(c, X_OK) == 0 { return c }
        throw RuntimeError("\(name) not found (looked in \(candidates.joined(separator: ", "))): run `make build` or set \(env)")
    }

    public func loadSpec(bundle: String, configPath: String? = nil) throws -> Spec {
        try loadSpecBytes(bundle: bundle, configPath: configPath).spec
    }

    func loadSpecBytes(bundle: String, configPath: String?) throws -> (spec: Spec, bytes: [UInt8]) {
        let path = configPath.map { $0.hasPrefix("/") ? $0 : bundle + "/" + $0 } ?? bundle + "/config.json"
        let bytes: [UInt8]
        do { bytes = try Files.read(path) } catch let e as SysError {
            throw RuntimeError("cannot read the bundle's config: \(e)")
        }
        return (try JSON.decodeSpec(bytes, what: path), bytes)
    }

    /// The spec a container was created with (its spec.json).
    public func spec(of rec: ContainerRecord) throws -> Spec {
        if let s = rec.legacySpec { return s }
        let path = dir(rec.id) + "/spec.json"
        return try JSON.decodeSpec(try Files.read(path), what: path)
    }

    // MARK: create

    public func create(id: String, options: CreateOptions) throws -> Created {
        try Self.validateID(id)
        try Files.mkdirAll(root, mode: 0o711)
        let dir = self.dir(id)
        if mkdir(dir, 0o711) < 0 {
            if errno == EEXIST { throw RuntimeError("container \(id) already exists (\(dir)): delete it or choose another ID") }
            throw SysError("mkdir", dir)
        }
        var undo: [() -> Void] = [{ try? Files.removeTree(dir) }]
        var child: Created?
        do {
            let c = try createInDir(id: id, dir: dir, options: options, undo: &undo, child: &child)
            return c
        } catch {
            if let c = child {
                _ = sr_pidfd_send_signal(c.pidfd.raw, SIGKILL)
                var code: Int32 = 0, sig: Int32 = 0
                _ = sr_pidfd_wait(c.pidfd.raw, &code, &sig, 0)
            }
            for u in undo.reversed() { u() }
            throw error
        }
    }

    private func createInDir(id: String, dir: String, options: CreateOptions, undo: inout [() -> Void],
                             child: inout Created?) throws -> Created {
        trace("create: begin")
        let bundle = try Files.realpath(Files.absolute(options.bundle))
        var (spec, specBytes) = try loadSpecBytes(bundle: bundle, configPath: options.configPath)
        let asGiven = spec
        guard let rootPath = spec.root?.path, !rootPath.isEmpty else { throw RuntimeError("config.json: root.path is missing") }
        let rootfs: String
        do { rootfs = try Files.realpath(rootPath.hasPrefix("/") ? rootPath : bundle + "/" + rootPath) } catch let e as SysError {
            throw RuntimeError("rootfs: \(e)")
        }
        guard Files.isDirectory(rootfs) else { throw RuntimeError("rootfs \(rootfs) is not a directory") }
        try Self.checkConsole(terminal: spec.process?.terminal == true, socket: options.consoleSocket, keep: options.keepConsole)
        if let size = options.consoleSize, spec.process?.terminal == true { spec.process?.consoleSize = size }
        let linux = spec.linux ?? Spec.Linux()
        let namespaces = linux.namespaces ?? []
        // Joining a user namespace: the init joins it first and unshares the new ones there
        // (PlanBuilder), so clone3 makes none (they would belong to our user namespace).
        let joinsUser = namespaces.contains { $0.type == "user" && !($0.path ?? "").isEmpty }
        let flags = joinsUser || Namespaces.newUserAfterJoins(namespaces) ? 0 : try Namespaces.cloneFlags(namespaces)
        if namespaces.contains(where: { $0.type == "user" && ($0.path ?? "").isEmpty }) && (linux.uidMappings ?? []).isEmpty {
            throw RuntimeError("a new user namespace needs linux.uidMappings and linux.gidMappings")
        }

        // systemd socket activation, as runc and crun do: LISTEN_FDS fds (from 3) pass
        // through, and the container's process is told it is their LISTEN_PID (1).
        var preserveFds = options.preserveFds
        if let v = getenv("LISTEN_FDS"), let n = Int32(String(cString: v)), n > 0 {
            preserveFds = max(preserveFds, n)
            let env = (spec.process?.env ?? []).filter { !$0.hasPrefix("LISTEN_FDS=") && !$0.hasPrefix("LISTEN_PID=") }
            spec.process?.env = env + ["LISTEN_FDS=\(n)", "LISTEN_PID=1"]
        }
        let mount = try Cgroup.findMountpoint()
        let cg = Cgroup(mountpoint: mount, path: try Cgroup.resolvePath(linux.cgroupsPath, id: id))
        // Compile the plan first: a bad spec fails before anything exists.
        trace("create: spec loaded")
        var builder = PlanBuilder(spec: spec, rootfs: rootfs)
        builder.compileSeccomp = { [root] in try Seccomp.cached($0, dir: root + "/" + Self.seccompCacheDir) }
        builder.cgroupDir = cg.dir
        builder.preserveFds = preserveFds
        builder.warn = warn
        builder.hookState = "{}"
        builder.parentDeathSignal = options.parentDeathSignal
        // runc's rule: a new network namespace gets its lo up (a pod's sandbox serves its
        // other containers on 127.0.0.1; CNI adds only the outside interfaces).
        builder.loopbackUp = options.loopbackUp || namespaces.contains { $0.type == "network" && ($0.path ?? "").isEmpty }
        builder.reaper = options.reaper
        var ops = try builder.build()

        // Cgroup: checked and limited before the init exists, entered atomically by clone3.
        trace("create: plan built")
        let files = try Cgroup.files(for: linux.resources ?? Spec.Resources())
        try cg.checkControllers(for: files)
        if Files.exists(cg.dir) && !cg.processes().isEmpty {
            throw RuntimeError("cgroup \(cg.dir) already has processes: choose another cgroupsPath")
        }
        let made = try cg.create()
        undo.append { try? cg.remove(createdParents: made) }
        try cg.apply(files)
        let cgfd = try cg.openDir()
        try Self.attachDeviceFilter(cgfd.raw, rules: try DeviceFilter.rules(for: spec), cgroup: cg.dir)

        trace("create: cgroup ready")
        let fifoPath = dir + "/exec.fifo"
        guard sr_mkfifo(fifoPath, 0o600) == 0 else { throw SysError("mkfifo", fifoPath) }
        // O_RDWR never blocks on a FIFO; the init reads one byte from it, `start` writes it.
        let fifo = try FD.open(fifoPath, O_RDWR)

        let trees = try Self.premadeTrees(ops)
        trace("create: fifo ready")
        let spawned = try spawnInit(flags: flags, cgroupFD: cgfd.raw, fifoFD: fifo.raw, preserveFds: preserveFds,
                                    extraFD: -1, stdio: options.stdio)
        var created = spawned.created
        let parentSock = spawned.sock
        child = created
        fifo.close()

        if flags & Namespaces.newUser != 0 {
            try writeIDMaps(pid: created.pid, linux: linux)
            try parentSock.writeAll([1])
        }
        trace("create: init cloned")
        let state = State(id: id, status: .creating, pid: created.pid, bundle: bundle, annotations: spec.annotations)
        let stateJSON = try JSON.string(state)
        ops = ops.map { op in
            if case .hook(let p, _, let t, let a, let e) = op { return .hook(path: p, stdin: stateJSON, timeout: t, args: a, env: e) }
            return op
        }
        var session = InitSession(spawned, ops: ops)
        // The premade trees follow the plan, or the last reply the init reads before any
        // mount: to SYNC (hooks), else to MAPS.
        let hasSync = ops.contains(.sync), hasMaps = ops.contains(.mapIDs)
        var console: FD?
        let outcome: InitSession.Outcome
        do {
            try session.send(plan: PlanEncoder.encode(ops))
            if !hasSync && !hasMaps { try Self.send(trees, parentSock) }
            outcome = try session.awaitReady(.init(
                maps: { [self] in
                    try writeIDMaps(pid: created.pid, linux: linux)
                    try parentSock.writeAll([1])
                    if !hasSync { try Self.send(trees, parentSock) }
                },
                sync: { [self] in
                    let hooks = (spec.hooks?.prestart ?? []) + (spec.hooks?.createRuntime ?? [])
                    try runHooks(hooks, kind: "createRuntime", state: stateJSON)
                    try parentSock.writeAll([1])
                    try Self.send(trees, parentSock)
                },
                console: { master in
                    if options.keepConsole { console = master } else { try Self.forwardConsole(master, to: options.consoleSocket) }
                }))
        } catch {
            session.abort()
            throw error
        }
        let listener = outcome.seccompListener
        created = outcome.process
        child = created
        created.console = console
        let pid = created.pid
        let startTime = Proc.stat(pid)?.startTime ?? 0
        if let listener {
            try Self.sendSeccompListener(listener, linux.seccomp, state: State(id: id, status: .creating, pid: pid, bundle: bundle,
                                                                            annotations: spec.annotations))
        }

        trace("create: init ready")
        let record = ContainerRecord(id: id, bundle: bundle, rootfs: rootfs, pid: pid, startTime: startTime,
                                     created: Time.rfc3339Nano(), cgroupMount: mount, cgroupPath: cg.path,
                                     cgroupCreated: made, annotations: spec.annotations, hooks: spec.hooks)
        // The bundle's own bytes unless create changed the spec: no encoding on the common path.
        try Files.writeAtomic(dir + "/spec.json", spec == asGiven ? specBytes : try JSON.encode(spec), mode: 0o600)
        try Files.writeAtomic(dir + "/state.json", try JSON.encode(record), mode: 0o600)
        if let pf = options.pidFile {
            try Files.writeAtomic(Files.absolute(pf), Array("\(pid)".utf8))
        }
        created.record = record
        return created
    }

    struct Spawned {
        var created: Created
        var sock: FD
    }

    /// Clones swiftrun-init (from a sealed memfd) into new namespaces and a cgroup.
    func spawnInit(flags: UInt64, cgroupFD: Int32, fifoFD: Int32, preserveFds: Int32, extraFD: Int32,
                   stdio: [Int32]? = nil, shareVM: Bool = true) throws -> Spawned {
        let helper = try sealedInit()
        var pair: [Int32] = [-1, -1]
        guard sr_socketpair_cloexec(&pair) == 0 else { throw SysError("socketpair") }
        let parentSock = FD(pair[0]), childSock = FD(pair[1])
        var argv = ["swiftrun-init", String(sr_spawn_sync_fd(preserveFds)), String(fifoFD >= 0 ? sr_spawn_fifo_fd(preserveFds) : -1)]
        if extraFD >= 0 { argv.append(String(sr_spawn_extra_fd(preserveFds))) }
        let cArgv = argv.map { strdup($0) } + [nil]
        defer { cArgv.forEach { free($0) } }
        let cEnv: [UnsafeMutablePointer<CChar>?] = [nil]
        var pidfd: Int32 = -1
        let pid: Int32 = cArgv.withUnsafeBufferPointer { av in
            cEnv.withUnsafeBufferPointer { ev in
                var s = sr_spawn(flags: flags, cgroup_fd: cgroupFD, helper_fd: helper.raw, sync_fd: childSock.raw,
                                 fifo_fd: fifoFD, preserve_fds: preserveFds, extra_fd: extraFD,
                                 wait_parent: flags & Namespaces.newUser != 0 ? 1 : 0, share_vm: shareVM ? 1 : 0,
                                 stdio: (stdio?[0] ?? -1, stdio?[1] ?? -1, stdio?[2] ?? -1),
                                 argv: av.baseAddress, envp: ev.baseAddress)
                return sr_spawn(&s, &pidfd)
            }
        }
        guard pid > 0 else {
            throw SysError("clone3 (namespaces \(Namespaces.describe(flags)))", nil, errno: -pid)
        }
        return Spawned(created: Created(pid: pid, pidfd: FD(pidfd)), sock: parentSock)
    }

    /// CVE-2019-5736: the init runs from a sealed memfd copy, so /proc/self/exe in the
    /// container never points at a file on the host. Made once per Runtime (a supervisor
    /// spawns one per health probe); sealed, so sharing it between spawns is safe.
    func sealedInit() throws -> FD {
        if let h = helper { return h }
        let helperPath = try Self.initPath()
        let h = FD(sr_sealed_copy(helperPath, "swiftrun-init"))
        guard h.raw >= 0 else { throw SysError("copy into sealed memfd", helperPath) }
        helper = h
        return h
    }

    static func checkConsole(terminal: Bool, socket: String?, keep: Bool = false) throws {
        if keep { return }
        if terminal && socket == nil {
            throw RuntimeError("process.terminal is true: pass --console-socket (a unix socket that receives the pty master)")
        }
        if !terminal && socket != nil {
            throw RuntimeError("--console-socket was given but process.terminal is false")
        }
    }

    /// runc's console protocol: the pty master, sent over the caller's unix socket.
    static func forwardConsole(_ master: FD, to socket: String?) throws {
        guard let socket else { throw RuntimeError("the init made a console nobody asked for") }
        let rc = sr_send_fd_to(socket, master.raw, "/dev/ptmx")
        if rc < 0 { throw SysError("send the pty master to --console-socket", socket, errno: -rc) }
    }

    /// The premade bind mounts of a plan, made here in the host's user namespace: only a
    /// process privileged over the source's filesystem may idmap it, and the init of a
    /// container with its own user namespace may not even reach a source that only the
    /// host's root can (a 0700 parent).
    static func premadeTrees(_ ops: [InitOp]) throws -> [FD] {
        try ops.compactMap { op in
            guard case .mount(let m) = op, m.premade else { return nil }
            var call: UnsafePointer<CChar>?
            let fd = sr_detached_tree(m.source, m.recursive ? 1 : 0, m.attrSet, m.attrClear, m.idmap?.uidMap, m.idmap?.gidMap, &call)
            if fd < 0 {
                let what = "mount bind \(m.destination)\(m.idmap != nil ? " (idmapped)" : ""): "
                throw SysError(what + (call.map { String(cString: $0) } ?? "?"), m.source, errno: -fd)
            }
            return FD(fd)
        }
    }

    static func send(_ trees: [FD], _ sock: FD) throws {
        for t in trees where sr_send_with_fd(sock.raw, "m", 1, t.raw) != 1 {
            throw SysError("sendmsg (a premade mount to the init)")
        }
    }

    /// The runtime-spec's seccomp agent protocol: one message on a new connection to
    /// linux.seccomp.listenerPath, the container process state as JSON with the notify fd
    /// as SCM_RIGHTS. A listener nobody can receive fails the create, as with runc.
    static func sendSeccompListener(_ fd: FD, _ seccomp: Spec.Seccomp?, state: State) throws {
        guard let path = seccomp?.listenerPath, !path.isEmpty else { throw RuntimeError("seccomp listener fd without a listenerPath") }
        let msg = ContainerProcessState(pid: state.pid ?? 0, metadata: seccomp?.listenerMetadata ?? "", state: state)
        let rc = sr_send_fd_to(path, fd.raw, try JSON.string(msg))
        if rc < 0 {
            throw SysError("seccomp: hand the notify fd to linux.seccomp.listenerPath (is the agent listening?): connect/sendmsg",
                           path, errno: -rc)
        }
    }

    static func attachDeviceFilter(_ fd: Int32, rules: [DeviceFilter.Rule], cgroup: String) throws {
        let prog = DeviceFilter.bytes(rules)
        var log = [CChar](repeating: 0, count: 1 << 16)
        let rc = prog.withUnsafeBytes { sr_attach_device_filter(fd, $0.baseAddress, $0.count, &log, log.count) }
        if rc < 0 {
            let detail = String(cString: log)
            throw RuntimeError("device cgroup: load and attach the eBPF filter to \(cgroup): \(SysError.describe(-rc))"
                               + (detail.isEmpty ? "" : "; verifier: \(detail)"))
        }
    }

    static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    func writeIDMaps(pid: Int32, linux: Spec.Linux) throws {
        func render(_ m: [Spec.IDMapping]) -> String {
            m.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
        }
        try Files.write("/proc/\(pid)/uid_map", render(linux.uidMappings ?? []))
        try Files.write("/proc/\(pid)/gid_map", render(linux.gidMappings ?? []))
    }

    func runHooks(_ hooks: [Spec.Hook], kind: String, state: String) throws {
        for h in hooks {
            // A hook with no env inherits ours (runc does the same).
            let r = try Subprocess.run(h.path, args: h.args ?? [h.path], env: h.env ?? Environment.current(), input: Array(state.utf8),
                                       timeoutSeconds: h.timeout ?? 0)
            if r.timedOut { throw RuntimeError("\(kind) hook \(h.path) timed out after \(h.timeout ?? 0)s") }
            if r.status != 0 { throw RuntimeError("\(kind) hook \(h.path) failed with status \(r.status)") }
        }
    }

    // MARK: state

    public func load(_ id: String) throws -> ContainerRecord {
        try Self.validateID(id)
        let path = dir(id) + "/state.json"
        guard Files.exists(dir(id)) else { throw RuntimeError("container \(id) does not exist") }
        do {
            return try JSON.decode(ContainerRecord.self, from: try Files.read(path), what: path)
        } catch let e as SysError where e.errno == ENOENT {
            throw RuntimeError("container \(id) is being created or its creation failed (no \(path)); `delete --force \(id)` cleans it up")
        }
    }

    /// runc update: new linux.resources on a live container's cgroup, kept in its record.
    /// Checked before anything is written, so a refused update changes nothing.
    public func update(_ id: String, resources: Spec.Resources) throws {
        var rec = try load(id)
        guard status(rec) != .stopped else { throw RuntimeError("container \(id) is not running") }
        let cg = Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath)
        let files = try Cgroup.files(for: resources)
        try cg.checkControllers(for: files)
        try cg.apply(files)
        var spec = try self.spec(of: rec)
        if spec.linux == nil { spec.linux = Spec.Linux() }
        spec.linux?.resources = resources
        try Files.writeAtomic(dir(id) + "/spec.json", try JSON.encode(spec), mode: 0o600)
        if rec.legacySpec != nil {
            rec.legacySpec = nil
            try Files.writeAtomic(dir(id) + "/state.json", try JSON.encode(rec), mode: 0o600)
        }
    }

    public func status(_ rec: ContainerRecord) -> State.Status {
        guard Proc.isAlive(rec.pid, startTime: rec.startTime) else { return .stopped }
        if Files.exists(dir(rec.id) + "/exec.fifo") { return .created }
        if Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath).isFrozen { return .paused }
        return .running
    }

    public func state(_ id: String) throws -> State {
        let rec = try load(id)
        let st = status(rec)
        return State(id: id, status: st, pid: st == .stopped ? 0 : rec.pid, bundle: rec.bundle,
                     annotations: rec.annotations ?? rec.legacySpec?.annotations)
    }

    public func list() -> [(ContainerRecord, State.Status)] {
        let ids = (try? Files.list(root)) ?? []
        return ids.sorted().compactMap { id in
            guard let rec = try? load(id) else { return nil }
            return (rec, status(rec))
        }
    }

    // MARK: start

    public func start(_ id: String, record: ContainerRecord? = nil) throws {
        let rec = try record ?? load(id)
        let st = status(rec)
        guard st == .created else {
            throw RuntimeError("cannot start container \(id): it is \(st.rawValue), not created")
        }
        let fifoPath = dir(id) + "/exec.fifo"
        let fd = sr_open_cloexec(fifoPath, O_WRONLY | O_NONBLOCK, 0)
        guard fd >= 0 else {
            if errno == ENXIO { throw RuntimeError("cannot start container \(id): its init is gone") }
            throw SysError("open", fifoPath)
        }
        defer { Glibc.close(fd) }
        var one: UInt8 = 0x30
        guard Glibc.write(fd, &one, 1) == 1 else { throw SysError("write", fifoPath) }
        unlink(fifoPath)
        let poststart = (rec.hooks ?? rec.legacySpec?.hooks)?.poststart ?? []
        // runtime-spec: poststart hooks run after the process is executed. The init may still
        // be running startContainer hooks: wait until it has exec'd (its exe is no longer
        // our sealed init) or is gone.
        if !poststart.isEmpty {
            let exe = "/proc/\(rec.pid)/exe"
            while Proc.isAlive(rec.pid, startTime: rec.startTime),
                  (try? Files.readlink(exe))?.hasPrefix("/memfd:swiftrun-init") ?? false {
                usleep(1000)
            }
        }
        let state = State(id: id, status: .running, pid: rec.pid, bundle: rec.bundle, annotations: rec.annotations ?? rec.legacySpec?.annotations)
        for h in poststart {
            // Poststart failures are logged, not fatal (runtime-spec).
            do { try runHooks([h], kind: "poststart", state: try JSON.string(state)) } catch { warn("\(error)") }
        }
    }

    // MARK: kill

    public func kill(_ id: String, signal: Int32, all: Bool) throws {
        let rec = try load(id)
        let st = status(rec)
        guard st != .stopped else { throw RuntimeError("cannot kill container \(id): it is not running") }
        let cg = Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath)
        if all {
            if signal == SIGKILL {
                try cg.killAll()
            } else {
                for p in cg.processes() { _ = sr_kill(p, signal) }
            }
            if st == .paused && signal != SIGKILL { try? cg.freeze(false) }
            return
        }
        try signalInit(rec, signal)
    }

    func signalInit(_ rec: ContainerRecord, _ signal: Int32) throws {
        let fd = FD(sr_pidfd_open(rec.pid))
        guard fd.raw >= 0 else {
            if errno == ESRCH { throw RuntimeError("container \(rec.id) is not running") }
            throw SysError("pidfd_open", "pid \(rec.pid)")
        }
        // The pidfd pins the process; check it is still ours (not a reused pid).
        guard Proc.isAlive(rec.pid, startTime: rec.startTime) else { throw RuntimeError("container \(rec.id) is not running") }
        guard sr_pidfd_send_signal(fd.raw, signal) == 0 else { throw SysError("pidfd_send_signal", "pid \(rec.pid)") }
    }

    // MARK: delete

    public func delete(_ id: String, force: Bool, record: ContainerRecord? = nil) throws {
        try Self.validateID(id)
        let d = dir(id)
        guard Files.exists(d) else {
            if force { return } // runc: --force on a container that is already gone succeeds
            throw RuntimeError("container \(id) does not exist")
        }
        guard let rec = try? record ?? load(id) else {
            // A create that died half way: nothing runs; remove what it left.
            guard force else { throw RuntimeError("container \(id) has no state (a failed create?): use delete --force") }
            if let cg = try? Cgroup(mountpoint: Cgroup.findMountpoint(), path: Cgroup.resolvePath(nil, id: id)) {
                try? cg.remove()
            }
            try Files.removeTree(d)
            return
        }
        let st = status(rec)
        let cg = Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath)
        switch st {
        case .stopped: break
        case .created, .creating: try killAndWait(rec, cg)
        case .running, .paused:
            guard force else { throw RuntimeError("cannot delete container \(id): it is \(st.rawValue); stop it first or use --force") }
            try killAndWait(rec, cg)
        }
        try cg.remove(createdParents: rec.cgroupCreated)
        try Files.removeTree(d)
        let state = State(id: id, status: .stopped, pid: 0, bundle: rec.bundle, annotations: rec.annotations ?? rec.legacySpec?.annotations)
        for h in (rec.hooks ?? rec.legacySpec?.hooks)?.poststop ?? [] {
            do { try runHooks([h], kind: "poststop", state: try JSON.string(state)) } catch { warn("\(error)") }
        }
    }

    func killAndWait(_ rec: ContainerRecord, _ cg: Cgroup) throws {
        let fd = FD(sr_pidfd_open(rec.pid))
        let ours = fd.raw >= 0 && Proc.isAlive(rec.pid, startTime: rec.startTime)
        if Files.exists(cg.dir) { try? cg.killAll() }
        if ours {
            _ = sr_pidfd_send_signal(fd.raw, SIGKILL)
            var p = pollfd(fd: fd.raw, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 10_000) == 0 { throw RuntimeError("container \(rec.id) did not die within 10 s of SIGKILL") }
        }
        // Wait for the cgroup to empty so rmdir succeeds.
        cg.waitEmpty(timeoutMs: 10_000)
    }

    // MARK: run

    /// create + start; unless detached, waits and returns the exit code (128+signal if killed).
    public func run(id: String, options: CreateOptions, detach: Bool, keep: Bool) throws -> Int32 {
        if !detach {
            SignalForwarder.blockSignals()
            // An init that forks into a joined pid namespace is adopted by us, to be waited for.
            _ = sr_set_subreaper()
        }
        let c = try create(id: id, options: options)
        do { try start(id, record: c.record) } catch {
            try? delete(id, force: true, record: c.record)
            throw error
        }
        trace("run: started")
        if detach { return 0 }
        let forwarder = SignalForwarder(pidfd: c.pidfd.raw)
        forwarder.start()
        var code: Int32 = 0, sig: Int32 = 0
        guard sr_pidfd_wait(c.pidfd.raw, &code, &sig, 0) == 0 else { throw SysError("waitid", "pid \(c.pid)") }
        trace("run: exited")
        if !keep { try? delete(id, force: true, record: c.record) }
        trace("run: deleted")
        return sig != 0 ? 128 + code : code
    }
}

extension Runtime {
    public func processes(_ id: String) throws -> [Int32] {
        let rec = try load(id)
        return Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath).processes()
    }

    public func pause(_ id: String, _ freeze: Bool) throws {
        let rec = try load(id)
        let st = status(rec)
        if freeze {
            guard st == .running else { throw RuntimeError("cannot pause container \(id): it is \(st.rawValue)") }
        } else {
            guard st == .paused else { throw RuntimeError("cannot resume container \(id): it is \(st.rawValue), not paused") }
        }
        try Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath).freeze(freeze)
    }
}
