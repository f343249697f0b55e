import ImageStore
import Network
import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// start, stop, kill, rm, wait: the CLI's side. Nothing here talks to a daemon: the
/// supervisor is started with a report pipe, everything else reads state.json and sends
/// signals, and a stop request is a file the supervisor reads when the container exits.
extension Engine {
    /// Where a foreground `run` wants the container's output (and, with -i, its input from):
    /// the ends of pipes the CLI relays (StdioRelay), never the user's own fds, which the
    /// supervisor would hold past the command and could hand on.
    public struct Attach {
        public var stdin: Int32?
        public var stdout: Int32
        public var stderr: Int32
        /// -t: the user's terminal size, for the container's pty from its first byte.
        public var ttySize: (rows: UInt16, cols: UInt16)?
        public init(stdin: Int32?, stdout: Int32, stderr: Int32) {
            self.stdin = stdin
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// A started supervisor: its report pipe, and the container's first pid.
    public final class Started {
        public let report: FD
        public let containerPid: Int32
        public let supervisorPid: Int32
        /// -t, attached: the container's pty master (the supervisor reads it; we only resize it).
        public let console: FD?
        var buffer: [UInt8] = []
        init(report: FD, containerPid: Int32, supervisorPid: Int32, console: FD?, buffer: [UInt8]) {
            self.report = report
            self.containerPid = containerPid
            self.supervisorPid = supervisorPid
            self.console = console
            self.buffer = buffer
        }

        /// A line came with the start's (a container that was quick to exit): the report's
        /// fd will not become readable for it.
        public var lineWaiting: Bool { buffer.contains(0x0a) }

        /// Blocks until the supervisor reports the container's final exit code (nil: it died).
        public func waitExit() -> Int32? {
            var passed: FD?
            while let line = Engine.readLine(report, &buffer, passed: &passed) {
                if line.hasPrefix("exited "), let c = Int32(line.dropFirst(7)) { return c }
            }
            return nil
        }
    }

    /// A line from the supervisor's report socket; an fd sent with it lands in `passed`.
    static func readLine(_ fd: FD, _ buffer: inout [UInt8], passed: inout FD?) -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let nl = buffer.firstIndex(of: 0x0a) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                return line
            }
            let (n, fd) = fd.receive(into: &chunk)
            if let fd { passed = fd }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// Starts the container's supervisor and waits until the container runs (or failed to).
    @discardableResult
    public func start(_ id: String, attach: Attach? = nil) throws -> Started {
        let v = try view(id)
        if Self.supervisorAlive(v.state) {
            throw Failure("container \(v.container.Name) is already running: `swiftrun stop \(v.container.Name)` first to restart it")
        }
        unlink(dir(id) + "/stop")
        let exe = try Runtime.helperPath("swiftrun-supervise", env: "SWIFTRUN_SUPERVISE")
        // A socket, not a pipe: with -t the pty master comes over it.
        let (reportR, reportW) = try FD.socketPair()
        let devnull = try FD.open("/dev/null", O_RDWR)
        let logFD = try FD.open(dir(id) + "/supervisor.log", O_WRONLY | O_CREAT | O_APPEND, mode: 0o600)
        var childFds = [attach?.stdin ?? devnull.raw, devnull.raw, logFD.raw, reportW.raw]
        if let a = attach { childFds += [a.stdout, a.stderr] }
        var env = Environment.current().filter { !$0.hasPrefix("SWIFTRUN_TTY_SIZE=") }
        if let s = attach?.ttySize { env.append("SWIFTRUN_TTY_SIZE=\(s.rows),\(s.cols)") }
        let pid = try ProcessControl.spawn(exe, args: [exe, store.root, id] + (attach != nil ? ["attach"] : []), env: env,
                                           fds: childFds, newSession: true)
        reportW.close()
        var buffer: [UInt8] = []
        var console: FD?
        var line: String
        repeat {
            guard let l = Self.readLine(reportR, &buffer, passed: &console) else {
                throw Failure("the supervisor (pid \(pid)) exited before the container started: see \(dir(id))/supervisor.log")
            }
            line = l
        } while line == "console"
        if line.hasPrefix("started "), let p = Int32(line.dropFirst(8)) {
            return Started(report: reportR, containerPid: p, supervisorPid: pid, console: console, buffer: buffer)
        }
        if line.hasPrefix("error ") {
            let rest = line.dropFirst(6)
            let code = Int32(rest.prefix { $0 != " " }) ?? 125
            let msg = rest.drop { $0 != " " }.dropFirst()
            throw RuntimeError(String(msg), exitCode: code)
        }
        throw Failure("the supervisor said something unexpected: \(line)")
    }

    /// Asks for a stop: the stop signal, SIGKILL after `timeout` seconds; returns once the
    /// supervisor has recorded the exit.
    public func stop(_ id: String, timeout: Int? = nil, signal: Int32? = nil) throws {
        let v = try view(id)
        guard Self.supervisorAlive(v.state) else { return }
        let sup = FD.pidfd(v.state.SupervisorPid)
        _ = try FD.open(dir(id) + "/stop", O_WRONLY | O_CREAT, mode: 0o600)
        Events.emit(self, "stop", v.container)
        if v.state.Running {
            let sig = signal ?? Signals.parse(v.container.Config.StopSignal) ?? SIGTERM
            let t = timeout ?? v.container.Config.StopTimeout ?? 10
            let rt = runtime
            rt.warn = { _ in }
            let sent = (try? rt.kill(id, signal: sig, all: false)) != nil
            // Frozen, it cannot act on the signal: thaw it once the signal is pending (moby's order).
            if v.state.Paused { try? rt.pause(id, false) }
            if sent, t > 0 {
                if let initFD = FD.pidfd(v.state.Pid) { _ = Self.waitReadable(initFD.raw, ms: t * 1000) }
            }
            // A PID 1 without a handler ignores SIGTERM: escalate, to the whole cgroup.
            try? rt.kill(id, signal: SIGKILL, all: true)
        }
        if let sup, !Self.waitReadable(sup.raw, ms: 30_000) {
            throw Failure("the supervisor of \(v.container.Name) (pid \(v.state.SupervisorPid)) did not finish within 30 s")
        }
    }

    static func waitReadable(_ fd: Int32, ms: Int) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Time.monotonicNanos() + Int64(ms) * 1_000_000
        while true {
            let left = Int32(clamping: max(0, (deadline - Time.monotonicNanos()) / 1_000_000))
            let n = poll(&p, 1, left)
            if n > 0 { return true }
            if n == 0 || (n < 0 && errno != EINTR) { return false }
        }
    }

    /// `exec -u NAME[:GROUP]`: resolved against the running container's own /etc/passwd and
    /// /etc/group (read inside its root), as `run -u` is against the image's.
    public func resolveUser(_ id: String, _ spec: String) throws -> (uid: UInt32, gid: UInt32, groups: [UInt32]) {
        let root = dir(id) + "/rootfs"
        return try RunConfig.resolveUser(spec, passwd: Self.readInRoot(root, "/etc/passwd"), group: Self.readInRoot(root, "/etc/group"))
    }

    /// `pause`/`unpause`: the container's cgroup frozen or thawed. The supervisor sees the
    /// change in cgroup.events and records it (Paused; health unhealthy, probes stopped);
    /// we return once it has.
    public func pause(_ id: String, _ freeze: Bool) throws {
        let v = try view(id)
        guard Self.supervisorAlive(v.state), v.state.Running else {
            throw Failure("Container \(v.container.Name) is not running (`swiftrun start \(v.container.Name)` first)")
        }
        if freeze && v.state.Paused { throw Failure("Container \(v.container.Name) is already paused (`swiftrun unpause \(v.container.Name)` thaws it)") }
        if !freeze && !v.state.Paused { throw Failure("Container \(v.container.Name) is not paused") }
        try runtime.pause(id, freeze)
        Events.emit(self, freeze ? "pause" : "unpause", v.container)
        let deadline = Time.monotonicNanos() + 5_000_000_000
        while loadState(id).Paused != freeze && Time.monotonicNanos() < deadline { usleep(5_000) }
    }

    /// `kill`: a signal to the container's init; it counts as a stop the user asked for.
    public func kill(_ id: String, signal: Int32) throws {
        let v = try view(id)
        guard Self.supervisorAlive(v.state), v.state.Running else {
            throw Failure("cannot kill container \(v.container.Name): it is not running (`swiftrun ps -a` shows its state)")
        }
        _ = try FD.open(dir(id) + "/stop", O_WRONLY | O_CREAT, mode: 0o600)
        Events.emit(self, "kill", v.container, ["signal": String(signal)])
        try runtime.kill(id, signal: signal, all: false)
    }

    /// `rm`: a running container only with `force` (then killed); removes the rootfs,
    /// log, state, cgroup and name.
    /// `volumes`: its anonymous volumes go too (`rm -v`, `--rm`); named ones always stay.
    public func remove(_ id: String, force: Bool, volumes: Bool = false) throws {
        var v = try view(id)
        // Exited, with its supervisor still deciding (a restart, or letting go: it says so
        // in state.json within milliseconds).
        let deadline = Time.monotonicNanos() + 2_000_000_000
        while Self.supervisorAlive(v.state) && !v.state.Running && !v.state.Restarting && Time.monotonicNanos() < deadline {
            usleep(2_000)
            v = try view(id)
        }
        if Self.supervisorAlive(v.state) {
            guard force else {
                let what = v.state.Restarting ? "restarting" : v.state.Paused ? "paused" : "running"
                throw Failure("cannot remove container \"/\(v.container.Name)\": container is \(what): stop the container before removing or force remove")
            }
            try stop(id, timeout: 0, signal: SIGKILL)
        }
        // With what a supervisor that was killed left: the runtime's state and cgroup, the
        // mount, the network.
        try ContainerResources(engine: self, id: id).release(upTo: .container, anonymousVolumes: volumes)
        Events.emit(self, "destroy", v.container)
    }

    /// `rename`: the record, the name's link, and the name other containers on its user
    /// networks resolve (their hosts files, read by their name servers). A running
    /// container's supervisor says the new name in its events from its next wake.
    public func rename(_ id: String, to newName: String) throws {
        let c = try load(id)
        try Self.validateName(newName)
        guard newName != c.Name else {
            throw Failure("Renaming a container with the same name as its current name")
        }
        try reserve(name: newName, id: id)
        var r = c
        r.Name = newName
        do { try Files.writeAtomic(dir(id) + "/config.json", try JSON.encode(r), mode: 0o600) } catch {
            unlink(namesDir + "/" + newName)
            throw error
        }
        if (try? Files.readlink(namesDir + "/" + c.Name)) == id { unlink(namesDir + "/" + c.Name) }
        HostNetwork.rename(containerID: id, root: store.root, to: newName)
        Events.emit(self, "rename", r, ["oldName": "/" + c.Name])
    }

    /// Blocks until the container is not running; returns its exit code.
    public func wait(_ id: String) throws -> Int32 {
        var v = try view(id)
        if Self.supervisorAlive(v.state) {
            if let sup = FD.pidfd(v.state.SupervisorPid) { _ = Self.waitReadable(sup.raw, ms: Int(Int32.max)) }
            guard Files.exists(dir(id)) else { return v.state.ExitCode } // --rm removed it
            v = try view(id)
        }
        return v.state.ExitCode
    }
}

/// `swiftrun events`: one JSON line per event in <root>/events.log (O_APPEND writes of
/// one line are atomic), Docker's shape.
public enum Events {
    public struct Event: Codable {
        public var status: String
        public var id: String
        public var from: String
        public var `Type` = "container"
        public var Action: String
        public var Actor: Actor
        public var scope = "local"
        public var time: Int64
        public var timeNano: Int64
        public struct Actor: Codable {
            public var ID: String
            public var Attributes: [String: String]
        }
    }

    public static func path(_ e: Engine) -> String { e.store.root + "/events.log" }

    public static func emit(_ e: Engine, _ action: String, _ c: Container, _ extra: [String: String] = [:]) {
        let now = Time.nowNanos()
        var attrs = ["name": c.Name, "image": c.Image]
        for (k, v) in extra { attrs[k] = v }
        let event = Event(status: action, id: c.Id, from: c.Image, Action: action, Actor: .init(ID: c.Id, Attributes: attrs),
                          time: now / 1_000_000_000, timeNano: now)
        guard let line = try? JSON.encode(event) + [0x0a] else { return }
        let p = path(e)
        if Files.size(p) > 8 << 20 { rename(p, p + ".1") }
        try? FD.open(p, O_WRONLY | O_CREAT | O_APPEND, mode: 0o600).writeAll(line)
    }
}

extension Engine {
    /// `wait --condition healthy|unhealthy`: polls state.json (the supervisor rewrites it
    /// after every probe). Fails when the container stops, or goes the other way.
    public func waitHealth(_ id: String, _ want: HealthStatus, timeoutNs: Int64?) throws -> (ok: Bool, message: String) {
        let deadline = timeoutNs.map { Time.monotonicNanos() + $0 }
        while true {
            let v = try view(id)
            guard let h = v.state.Health else {
                throw Failure("container \(v.container.Name) has no health check: create it with --health-cmd, or from an image with a HEALTHCHECK")
            }
            let last = h.Log.last.map { " (last check: exit \($0.ExitCode): \($0.Output.trimmed()))" } ?? ""
            if v.state.Running && h.Status == want { return (true, h.Status.rawValue) }
            if !v.state.Running && !v.state.Restarting {
                return (false, "container \(v.container.Name) is \(v.state.Status.rawValue) (exit code \(v.state.ExitCode))\(last)")
            }
            if want == .healthy && h.Status == .unhealthy && v.container.HostConfig.HealthOnFailure != "restart" {
                return (false, "container \(v.container.Name) is unhealthy\(last)")
            }
            if let d = deadline, Time.monotonicNanos() >= d {
                return (false, "timed out waiting for \(v.container.Name) to be \(want.rawValue): it is \(h.Status.rawValue)\(last)")
            }
            usleep(20_000)
        }
    }
}
