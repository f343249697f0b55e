import CShim
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    public struct ExecOptions {
        public var process: Spec.Process
        public var detach = false
        public var pidFile: String?
        public var preserveFds: Int32 = 0
        public var consoleSocket: String?
        /// The process's stdin, stdout and stderr; nil: ours (runc's way: its caller, such
        /// as containerd's shim, chooses them).
        public var stdio: [Int32]?
        /// Called once the process runs, before the wait: the engine's attached exec relays
        /// its stdio there. With process.terminal it gets the pty master (instead of a
        /// consoleSocket).
        public var attach: ((Created) -> Void)?
        public init(process: Spec.Process) { self.process = process }
    }

    /// The process `exec` runs by default: the container's, with these changes.
    public func execProcess(_ id: String, args: [String], env: [String], cwd: String?, user: String?,
                            addCaps: [String], noNewPrivileges: Bool, tty: Bool = false) throws -> Spec.Process {
        let rec = try load(id)
        var p = try spec(of: rec).process ?? Spec.Process()
        p.args = args
        var merged = p.env ?? []
        for e in env {
            let key = e.split(separator: "=", maxSplits: 1).first.map(String.init) ?? e
            merged.removeAll { $0.hasPrefix(key + "=") }
            merged.append(e)
        }
        p.env = merged
        if let cwd { p.cwd = cwd }
        if let user {
            let parts = user.split(separator: ":", maxSplits: 1)
            guard let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
                throw RuntimeError("--user \(user): give numeric uid[:gid]")
            }
            p.user = .init(uid: uid, gid: parts.count > 1 ? UInt32(parts[1])! : 0)
        }
        if !addCaps.isEmpty {
            var c = p.capabilities ?? Spec.Capabilities()
            for cap in addCaps {
                let name = cap.uppercased().hasPrefix("CAP_") ? cap.uppercased() : "CAP_" + cap.uppercased()
                for kp in [\Spec.Capabilities.bounding, \.effective, \.permitted] where !(c[keyPath: kp] ?? []).contains(name) {
                    c[keyPath: kp] = (c[keyPath: kp] ?? []) + [name]
                }
            }
            p.capabilities = c
        }
        if noNewPrivileges { p.noNewPrivileges = true }
        p.terminal = tty
        return p
    }

    /// An exec compiled once (plan, seccomp filter) and spawned many times: a supervisor's
    /// health probes.
    public struct PreparedExec {
        public let record: ContainerRecord
        let plan: [UInt8]
        let ops: [InitOp]
        let preserveFds: Int32
        /// linux.seccomp: its listenerPath gets the exec's notify fd too.
        var seccomp: Spec.Seccomp?
    }

    /// `process` nil: the container's own process with `args` (a health probe's way).
    public func prepareExec(_ id: String, _ process: Spec.Process?, args: [String] = [], preserveFds: Int32 = 0) throws -> PreparedExec {
        let rec = try load(id)
        let spec = try self.spec(of: rec)
        let process = process ?? {
            var p = spec.process ?? Spec.Process()
            p.args = args
            p.terminal = false
            return p
        }()
        var builder = PlanBuilder(spec: spec, rootfs: rec.rootfs)
        builder.compileSeccomp = { [root] in try Seccomp.cached($0, dir: root + "/" + Self.seccompCacheDir) }
        builder.preserveFds = preserveFds
        builder.warn = warn
        let ops = try builder.buildExec(process)
        return PreparedExec(record: rec, plan: PlanEncoder.encode(ops), ops: ops, preserveFds: preserveFds,
                            seccomp: spec.linux?.seccomp)
    }

    /// Starts a prepared exec and returns the process (our descendant: the caller must be
    /// a child subreaper to wait for it). `cgroup`: a directory to run it in instead of the
    /// container's own (a probe's sub-cgroup, killed as a whole on timeout).
    /// `interrupted`: asked while waiting for the exec init; true gives up (both processes
    /// killed and reaped). A health probe's init frozen by `pause` would otherwise keep the
    /// supervisor waiting until the thaw.
    public func spawnExec(_ p: PreparedExec, stdio: [Int32]? = nil, cgroup: String? = nil,
                          consoleSocket: String? = nil, keepConsole: Bool = false,
                          interrupted: (() -> Bool)? = nil) throws -> Created {
        let rec = p.record
        guard Proc.isAlive(rec.pid, startTime: rec.startTime) else {
            throw RuntimeError("cannot exec in container \(rec.id): its init is gone")
        }
        let initFD = FD(sr_pidfd_open(rec.pid))
        guard initFD.raw >= 0, Proc.isAlive(rec.pid, startTime: rec.startTime) else {
            throw RuntimeError("cannot exec in container \(rec.id): its init is gone")
        }
        let cgDir = cgroup ?? Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath).dir
        let cgfd = FD(sr_open_cloexec(cgDir, O_RDONLY | O_DIRECTORY, 0))
        guard cgfd.raw >= 0 else { throw SysError("open", cgDir) }
        // A caller that watches for interruption (a health probe, which `pause` may freeze
        // before its exec init has exec'd) must not sleep in a vfork until the thaw.
        let spawned = try spawnInit(flags: 0, cgroupFD: cgfd.raw, fifoFD: -1, preserveFds: p.preserveFds,
                                    extraFD: initFD.raw, stdio: stdio, shareVM: interrupted == nil)
        var session = InitSession(spawned, ops: p.ops)
        var console: FD?
        let outcome: InitSession.Outcome
        do {
            try session.send(plan: p.plan)
            outcome = try session.awaitReady(.init(
                console: { master in
                    if keepConsole { console = master } else { try Self.forwardConsole(master, to: consoleSocket) }
                },
                interrupted: interrupted))
            if let listener = outcome.seccompListener {
                try Self.sendSeccompListener(listener, p.seccomp, state: State(id: rec.id, status: .running, pid: outcome.process.pid,
                                                                             bundle: rec.bundle, annotations: rec.annotations))
            }
        } catch {
            session.abort()
            // The exec init may have forked and been killed before its PID report was read:
            // that process is now our child (we are a subreaper). Left a zombie, it would keep
            // the container's init from ever finishing its exit (zap_pid_ns_processes waits
            // for every task of the namespace to be reaped), and `rm -f` would hang.
            // It is in the cgroup we started the exec in, or already a zombie (gone from
            // cgroup.procs): no other child of ours can be either, but the container's init.
            if session.forked == nil {
                let inCgroup = Set(Cgroup(mountpoint: "", path: cgDir).processes())
                for pid in Proc.children() where pid != rec.pid && (inCgroup.contains(pid) || Proc.stat(pid)?.state == "Z") {
                    _ = Glibc.kill(pid, SIGKILL)
                    _ = waitpid(pid, nil, 0)
                }
            }
            if error is InitSession.Interrupted {
                throw RuntimeError("exec in container \(rec.id) interrupted")
            }
            throw error
        }
        var process = outcome.process
        process.console = console
        return process
    }

    /// Runs a process inside a running container: its namespaces, cgroup, user, capabilities
    /// and seccomp. Returns its exit code (128+signal), or 0 once started with `detach`.
    public func exec(_ id: String, _ options: ExecOptions) throws -> Int32 {
        try Self.checkConsole(terminal: options.process.terminal == true, socket: options.consoleSocket, keep: options.attach != nil)
        let rec = try load(id)
        let st = status(rec)
        guard st == .running else { throw RuntimeError("cannot exec in container \(id): it is \(st.rawValue), not running") }
        // The process that execs is a grandchild (fork after setns): adopt it to wait for it.
        guard sr_set_subreaper() == 0 else { throw SysError("prctl PR_SET_CHILD_SUBREAPER") }
        let prepared = try prepareExec(id, options.process, preserveFds: options.preserveFds)
        if !options.detach { SignalForwarder.blockSignals() }
        let t = try spawnExec(prepared, stdio: options.stdio, consoleSocket: options.consoleSocket,
                              keepConsole: options.attach != nil)
        if let pf = options.pidFile { try Files.writeAtomic(Files.absolute(pf), Array("\(t.pid)".utf8)) }
        if options.detach { return 0 }
        let f = SignalForwarder(pidfd: t.pidfd.raw)
        f.resize = t.console?.raw ?? -1
        f.start()
        options.attach?(t)
        var code: Int32 = 0, sig: Int32 = 0
        guard sr_pidfd_wait(t.pidfd.raw, &code, &sig, 0) == 0 else { throw SysError("waitid", "pid \(t.pid)") }
        return sig != 0 ? 128 + code : code
    }
}
