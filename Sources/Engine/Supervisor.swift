import Network
import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// One per running container, started detached by `start`/`run` (its own session).
/// It creates the container through the runtime core (so it is the init's parent, and the
/// init's parent-death signal kills the container if the supervisor is SIGKILLed), holds
/// its stdout/stderr pipes and writes the json-file log, runs the health checks, applies
/// the restart policy and records every change in state.json with atomic renames.
///
/// One thread, one poll loop: no Dispatch, no async (a clone child must come from a
/// thread that outlives it: the parent-death signal is per thread).
///
/// fds on entry: 0 the container's stdin (or /dev/null), 1 /dev/null, 2 supervisor.log,
/// 3 the report pipe (lines: "started PID", "error CODE MESSAGE", "exited CODE"),
/// 4 and 5 (optional) where a foreground `run` wants stdout and stderr copied.
public final class Supervisor {
    let engine: Engine
    let id: String
    let rt: Runtime
    var container: Container
    var state: ContainerState
    var log: JSONLogWriter
    var report: Int32 = 3
    /// What outlasts one wait of the loop and lives only in this process: Codable, so the
    /// idle handover (Handover.swift) is this value and the container's own fds.
    struct Carried: Codable {
        /// Where a foreground `run` wants output copied (fds 4 and 5; not owned), -1: none.
        var attachOut: Int32 = -1, attachErr: Int32 = -1
        /// -it: our stdin (the attached CLI's), copied into the pty master; -1 when closed.
        var ttyIn: Int32 = -1
        /// supervisor.lock, held (flock) for as long as we run.
        var lockFD: Int32 = -1
        /// swiftrun-idle (O_PATH), where it waits while idle (Handover.swift); -1: in place.
        var idleExe: Int32 = -1
        /// The container cgroup's memory.events (absent without the v2 memory controller):
        /// the kernel wakes POLLPRI on every change; oom_kill counts the OOM kills.
        var memoryEvents: FD?
        var oomKills: UInt64 = 0
        var oomKilled = false
        /// cgroup.events: "frozen 1" when `pause` froze the container (POLLPRI on change).
        var cgroupEvents: FD?
        var paused = false
        /// Published host ports, held from the first start to the end.
        var reservations: PortReservations?
        var nextProbeNs: Int64 = 0
        var restarts = RestartManager()
        var probeCgroupMade = false
        /// Host-side veths the kernel is deleting with their netns (awaited after the exit report).
        var goingVeths: [HostNetwork.GoingVeth] = []
    }
    var carried = Carried()
    var monitor: HealthMonitor?
    var probe: Probe?
    var prepared: Runtime.PreparedExec?
    var killAtNs: Int64 = 0           // escalate a stop to SIGKILL at this time
    var restartRequested = false       // --health-on-failure=restart
    var devnull: Int32 = -1
    var netSettings: NetworkSettings?
    /// -p with --network none.
    var relay: PortRelay?
    /// DNS for the names of its user networks (127.0.0.11 in its netns), while it runs.
    var nameServer: NameServer?
    /// --network container:X: X's netns, held from prepareNetwork until the init has joined it.
    var joinedNetns: FD?
    /// A probe a pause interrupted: its end is not a result.
    var dropProbeResult = false
    var ttyPending: [UInt8] = []
    /// Back from swiftrun-idle: the run to go on with.
    var resumedRun: ResumedRun?
    /// What the container holds on the host; released there and nowhere else.
    let held: ContainerResources

    struct Probe {
        var pid: Int32
        var pidfd: FD
        var out: FD
        var startNs: Int64
        var deadlineNs: Int64
        var output: [UInt8] = []
        var truncated = false
        /// The write end is closed everywhere (EOF read): polling a hung-up pipe returns at
        /// once, so it must leave the poll set until the process is reaped.
        var outDone = false
    }

    init(engine: Engine, id: String) throws {
        self.engine = engine
        self.id = id
        rt = engine.runtime
        container = try engine.load(id)
        state = engine.loadState(id)
        held = ContainerResources(engine: engine, id: id)
        let opts = try JSONLogWriter.options(container.HostConfig.LogConfig.Config)
        log = try JSONLogWriter(path: engine.logPath(id), maxSize: opts.maxSize, maxFile: opts.maxFile)
    }

    /// `swiftrun-supervise ROOT ID [attach]`, or `ROOT ID resume FD` from swiftrun-idle
    /// (FD: the Handover's memfd): never returns.
    public static func main(engine: Engine, id: String, attached: Bool, resume: Int32? = nil) -> Never {
        signal(SIGPIPE, SIG_IGN) // a foreground CLI that went away must not take us with it
        // CVE-2019-5736: a container process that sees us (one in the host's pid namespace)
        // must not open our binary through /proc/PID/exe or the fd swiftrun-idle holds:
        // non-dumpable, those need CAP_SYS_PTRACE. (Each exec makes us dumpable again.)
        ProcessControl.makeNonDumpable()
        let sup: Supervisor
        do { sup = try Supervisor(engine: engine, id: id) } catch {
            writeLine(resume == nil ? 3 : 2, "error 125 \(error)")
            exit(125)
        }
        if let fd = resume {
            do {
                let json = try FD(fd).readToEnd()
                sup.resumedRun = sup.adopt(try JSON.decode(Handover.self, from: json, what: "idle handover"))
            } catch {
                // Its container dies with it (parent-death signal); `ps` says so.
                sup.say("resume from swiftrun-idle: \(error)")
                exit(125)
            }
        } else if attached {
            sup.carried.attachOut = 4
            sup.carried.attachErr = 5
        }
        exit(sup.run())
    }

    static func writeLine(_ fd: Int32, _ s: String) {
        guard fd >= 0 else { return }
        let line = s + "\n"
        _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    func say(_ s: String) {
        Self.writeLine(2, "\(Time.rfc3339Nano()) \(s)")
    }

    func save() {
        do { try engine.saveState(id, state) } catch { say("save state: \(error)") }
    }

    var stopRequested: Bool { Files.exists(engine.dir(id) + "/stop") }

    func run() -> Int32 {
        devnull = (try? FD.open("/dev/null", O_RDWR).release()) ?? -1
        // Probes are our grandchildren (the exec init forks after setns): adopt them.
        try? ProcessControl.becomeSubreaper()
        if resumedRun == nil {
            // One supervisor per container: a concurrent `start` loses here. (A resumed one
            // holds the lock still: flock belongs to the open file, which exec keeps.)
            guard let lock = try? FD.open(engine.dir(id) + "/supervisor.lock", O_RDWR | O_CREAT, mode: 0o600),
                  lock.lock(LOCK_EX | LOCK_NB) else {
                Self.writeLine(report, "error 125 container \(id) is already running (another supervisor holds it)")
                return 125
            }
            carried.lockFD = lock.release()
            openIdle()
            state.SupervisorPid = getpid()
            state.SupervisorStart = Proc.stat(getpid())?.startTime ?? 0
            state.Error = ""
            // Whatever a dead predecessor left: runtime state, cgroup, network. Its mount, or
            // the one create left, is the container's own overlay: kept.
            _ = try? held.release(upTo: .run, network: .init(keepBridge: true))
            do { try held.mountRootfs() } catch {
                return failFirstStart(RuntimeError("\(error)", exitCode: 125))
            }
        }

        var first = resumedRun == nil
        var code: Int32 = 0
        while true {
            let startedNs: Int64
            if let r = resumedRun {
                resumedRun = nil
                startedNs = state.StartedNs
                code = loop(r.created, r.pipes, open: r.open, resumed: true)
            } else {
                let created: Runtime.Created
                let pipes: (out: FD, err: FD)
                do {
                    (created, pipes) = try startContainer()
                    startedNs = Time.nowNanos()
                } catch {
                    if first { return failFirstStart(error) }
                    state.Error = "\(error)"
                    code = (error as? RuntimeError).map { $0.exitCode == 1 ? 125 : $0.exitCode } ?? 125
                    state.ExitCode = code
                    finishState(code: code)
                    if shouldRestart(code: code, ranNs: 0) { continue }
                    break
                }
                markRunning(pid: created.pid, startedNs: startedNs)
                if first {
                    Self.writeLine(report, "started \(created.pid)")
                    first = false
                }
                code = loop(created, pipes)
            }
            cleanupRun()
            finishState(code: code)
            if shouldRestart(code: code, ranNs: Time.nowNanos() - startedNs) { continue }
            break
        }
        if container.HostConfig.AutoRemove {
            _ = try? held.release(upTo: .container, network: .init(keepBridge: true), anonymousVolumes: true)
            emit("destroy")
        } else {
            _ = try? held.release(upTo: .rootfs)
            // Done with the container: what is left (the veths going, an unused bridge) is
            // the host's. `rm`, `start` and `wait` need not wait for it.
            state.SupervisorPid = 0
            save()
        }
        if carried.lockFD >= 0 { close(carried.lockFD); carried.lockFD = -1 }
        Self.writeLine(report, "exited \(code)")
        HostNetwork.awaitGone(carried.goingVeths)
        // Only a container that was on a bridge restarts the linger (a loop of --network none
        // runs must not keep an unused bridge up).
        let mode = container.networkMode
        if !["none", "host"].contains(mode) && !mode.hasPrefix("container:"), HostNetwork.markUnusedIdle() { Self.spawnLingerer() }
        return 0
    }

    /// `swiftrun-supervise --linger-network`: a process of its own (in a session of its own,
    /// holding nothing but /dev/null) takes an unused bridge down after the linger, so this
    /// supervisor ends with its container as `stop`, `rm` and the tests expect.
    static func spawnLingerer() {
        guard let null = try? FD.open("/dev/null", O_RDWR | O_CLOEXEC) else { return }
        _ = try? ProcessControl.spawn("/proc/self/exe", args: ["swiftrun-supervise", "--linger-network"], env: [],
                                      fds: [null.raw, null.raw, null.raw], newSession: true)
    }

    /// An event under the container's name as it is now (`rename` changes it on disk while
    /// this supervisor runs).
    func emit(_ action: String, _ extra: [String: String] = [:]) {
        if let name = (try? engine.load(id))?.Name { container.Name = name }
        Events.emit(engine, action, container, extra)
    }

    /// A run has begun: recorded, health from "starting", the `start` event.
    func markRunning(pid: Int32, startedNs: Int64) {
        state.Status = .running
        state.Running = true
        state.Restarting = false
        state.Pid = pid
        state.ExitCode = 0
        state.StartedAt = Time.rfc3339Nano(startedNs)
        state.StartedNs = startedNs
        state.StopRequested = false
        state.OOMKilled = false
        state.NetworkSettings = netSettings
        if let hc = container.Config.Healthcheck {
            if monitor == nil {
                monitor = HealthMonitor(timing: Health.Timing(hc), state: state.Health ?? HealthState(), startedNs: startedNs)
            }
            monitor!.restarted(atNs: startedNs)
            state.Health = monitor!.state
            carried.nextProbeNs = Time.monotonicNanos() + monitor!.nextWait(nowNs: startedNs)
            prepared = nil
        }
        save()
        emit("start")
    }

    func failFirstStart(_ error: Error) -> Int32 {
        let code = (error as? RuntimeError).map { $0.exitCode == 1 ? 125 : $0.exitCode } ?? 125
        _ = try? held.release(upTo: .rootfs)
        state.Status = .created
        state.Running = false
        state.ExitCode = code
        state.Error = "\(error)"
        state.SupervisorPid = 0
        save()
        if container.HostConfig.AutoRemove { _ = try? held.release(upTo: .container, anonymousVolumes: true) }
        Self.writeLine(report, "error \(code) \(error)")
        return code
    }

    func startContainer() throws -> (Runtime.Created, (out: FD, err: FD)) {
        held.acquiredRun()
        let leases = try prepareNetwork()
        let out = try FD.pipe(), err = try FD.pipe()
        var o = Runtime.CreateOptions(bundle: engine.dir(id) + "/bundle")
        let tty = container.Config.Tty
        // With -t the container's stdio is its pty; we hold the master and copy our stdin in.
        o.stdio = [container.Config.OpenStdin && !tty ? 0 : devnull, out.w.raw, err.w.raw]
        if tty {
            o.keepConsole = true
            if let v = getenv("SWIFTRUN_TTY_SIZE") {
                let rc = String(cString: v).split(separator: ",").compactMap { UInt($0) }
                if rc.count == 2 { o.consoleSize = Spec.Box(height: rc[0], width: rc[1]) }
            }
        }
        o.parentDeathSignal = SIGKILL
        o.reaper = container.HostConfig.Init == true
        // Only a netns of its own (host and container: modes share one that is up).
        o.loopbackUp = container.networkMode != "host" && !container.networkMode.hasPrefix("container:")
        let created: Runtime.Created
        do { created = try rt.create(id: id, options: o) } catch {
            joinedNetns = nil
            _ = try? held.release(upTo: .run)
            throw error
        }
        joinedNetns = nil // joined by now (create returns after the init's namespace setup)
        carried.oomKilled = false
        carried.memoryEvents = nil
        if let rec = try? rt.load(id) {
            probeCg = Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath + "/swiftrun-health")
            carried.memoryEvents = try? FD.open(rec.cgroupMount + rec.cgroupPath + "/memory.events", O_RDONLY | O_CLOEXEC)
            carried.cgroupEvents = try? FD.open(rec.cgroupMount + rec.cgroupPath + "/cgroup.events", O_RDONLY | O_CLOEXEC)
            carried.paused = false
            carried.oomKills = readOOMKills() ?? 0
        }
        out.w.close()
        err.w.close()
        do {
            if !leases.isEmpty { try plug(leases, pid: created.pid) }
            if let r = relay {
                r.netns = try FD.open("/proc/\(created.pid)/ns/net", O_RDONLY | O_CLOEXEC)
                var n = NetworkSettings()
                n.Ports = Engine.dockerBindings(carried.reservations?.ports ?? [])
                netSettings = n
            }
            if let m = created.console, carried.attachOut >= 0 {
                // The attached CLI resizes the pty as its terminal changes.
                FD.send(Array("console\n".utf8), on: report, passing: m.raw)
            }
            try rt.start(id)
        } catch {
            _ = try? held.release(upTo: .run)
            throw error
        }
        let stdoutSource = created.console ?? out.r
        for p in [stdoutSource, err.r] { _ = fcntl(p.raw, F_SETFL, O_NONBLOCK) }
        carried.ttyIn = tty && container.Config.OpenStdin ? 0 : -1
        return (created, (stdoutSource, err.r))
    }

    // MARK: the loop

    /// `resumed`: back from swiftrun-idle, where the last event was seen.
    func loop(_ c: Runtime.Created, _ pipes: (out: FD, err: FD), open: (out: Bool, err: Bool) = (true, true), resumed: Bool = false) -> Int32 {
        var outOpen = open.out, errOpen = open.err
        // Scratch: its pages go back with the rest when idle (Idle.releaseAndPoll).
        var buf = [UInt8](unsafeUninitializedCapacity: 64 * 1024) { _, n in n = 64 * 1024 }
        var exited = false
        // A second after the last event the supervisor goes idle: it execs swiftrun-idle
        // (handOver), or gives back what the burst touched (Idle.releaseAndPoll). It idles
        // for most of the container's life.
        var timers = LoopTimers(nowNs: Time.monotonicNanos(), resumed: resumed)
        var releaseNow = false
        while true {
            var set = PollSet()
            set.add(.initExit, fd: exited ? -1 : c.pidfd.raw, events: Int16(POLLIN))
            set.add(.stdout, fd: outOpen ? pipes.out.raw : -1, events: Int16(POLLIN) | (ttyPending.isEmpty ? 0 : Int16(POLLOUT)))
            set.add(.stderr, fd: errOpen ? pipes.err.raw : -1, events: Int16(POLLIN))
            set.add(.probeExit, fd: probe?.pidfd.raw ?? -1, events: Int16(POLLIN))
            set.add(.probeOutput, fd: probe.map { $0.outDone ? -1 : $0.out.raw } ?? -1, events: Int16(POLLIN))
            set.add(.memoryEvents, fd: carried.memoryEvents?.raw ?? -1, events: Int16(POLLPRI))
            set.add(.ttyInput, fd: !exited && ttyPending.isEmpty ? carried.ttyIn : -1, events: Int16(POLLIN))
            set.add(.cgroupEvents, fd: exited ? -1 : carried.cgroupEvents?.raw ?? -1, events: Int16(POLLPRI))
            set.add(.nameServer, fd: exited ? -1 : nameServer?.sock.raw ?? -1, events: Int16(POLLIN))
            set.add(.relay, exited ? [] : relay?.pollfds() ?? [])
            let now = Time.monotonicNanos()
            let probeDue = !exited && monitor != nil && probe == nil && !carried.paused
            let wake = timers.wake(.init(probeNs: probeDue ? carried.nextProbeNs : nil, probeDeadlineNs: probe?.deadlineNs,
                                         killNs: killAtNs > 0 ? killAtNs : nil, relayExpiryNs: exited ? nil : relay?.nextExpiryNs),
                                   exited: exited)
            let timeout = LoopTimers.timeoutMs(wakeNs: wake, nowNs: now)
            let n: Int32
            // A probe due sooner than handing over is worth is awaited in place.
            if releaseNow && LoopTimers.worthHandingOver(wakeNs: wake, nowNs: now) && canHandOver(exited: exited) {
                handOver(set.fds, wakeNs: wake, c, pipes, open: (outOpen, errOpen)) // returns if it failed
            }
            if releaseNow {
                releaseNow = false
                n = buf.withUnsafeMutableBytes { b in
                    var scratch = [iovec(iov_base: b.baseAddress, iov_len: b.count)]
                    if let r = relay { scratch.append(r.scratchRegion) }
                    return Idle.releaseAndPoll(&set.fds, timeoutMs: timeout, scratch: scratch)
                }
            } else {
                n = poll(&set.fds, nfds_t(set.fds.count), timeout)
            }
            if n < 0 && errno != EINTR { say("poll: \(SysError("poll"))"); break }

            for (source, stream) in [(PollSet.Source.stdout, "stdout"), (.stderr, "stderr")] where set.ready(source) {
                let fd = source == .stdout ? pipes.out.raw : pipes.err.raw
                let got = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if got > 0 {
                    buf.withUnsafeBytes { b in
                        let chunk = UnsafeRawBufferPointer(rebasing: b[0..<got])
                        log.write(chunk, stream: stream)
                        let dst = source == .stdout ? carried.attachOut : carried.attachErr
                        if dst >= 0 && !writeAll(dst, chunk) {
                            carried.attachOut = -1
                            carried.attachErr = -1
                        }
                    }
                } else if got == 0 || (errno != EAGAIN && errno != EINTR) {
                    if source == .stdout { outOpen = false } else { errOpen = false }
                }
            }
            if !set.slice(.relay).isEmpty { relay?.handle(set.slice(.relay)) }
            if set.ready(.nameServer) { nameServer?.handle() }
            if set.ready(.cgroupEvents) { checkFrozen() }
            if set.ready(.ttyInput) || (set.revents(.stdout) & Int16(POLLOUT)) != 0 { copyTTYInput(master: pipes.out.raw) }
            if set.ready(.memoryEvents) { checkOOM() }
            if set.ready(.probeOutput) { readProbeOutput() }
            if set.ready(.probeExit) { finishProbe(timedOut: false) }
            let t = Time.monotonicNanos()
            if let p = probe, t >= p.deadlineNs { killProbe() }
            if killAtNs > 0 && t >= killAtNs {
                killAtNs = 0
                try? rt.kill(id, signal: SIGKILL, all: true)
            }
            let probing = !exited && monitor != nil && probe == nil && !carried.paused && t >= carried.nextProbeNs
            if probing { startProbe() }
            let event = n > 0 && set.anyReady(except: [.probeExit, .probeOutput])
            releaseNow = timers.afterWait(nowNs: t, event: event, probeOnly: n > 0 && !event, probeStarted: probing,
                                          probeRunning: probe != nil)
            if !exited && set.ready(.initExit) {
                exited = true
                // The pid namespace is gone with its init; what remains in the pipes is
                // read to the end, with a bound in case something outside holds them.
                timers.exited(nowNs: Time.monotonicNanos())
                if probe != nil { killProbe() }
            }
            if exited && ((!outOpen && !errOpen) || timers.drained(nowNs: Time.monotonicNanos())) { break }
        }
        log.finish()
        checkOOM() // a kill that came with the exit, before the cgroup goes
        carried.memoryEvents = nil
        carried.cgroupEvents = nil
        carried.paused = false
        return c.pidfd.waitExit() ?? 0
    }

    func writeAll(_ fd: Int32, _ b: UnsafeRawBufferPointer) -> Bool {
        var off = 0
        while off < b.count {
            let n = Glibc.write(fd, b.baseAddress! + off, b.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }

    /// After the init is gone: the runtime's state and cgroup go (the rootfs stays for a restart).
    func cleanupRun() {
        if let p = probe {
            try? probeCg.killAll()
            p.pidfd.waitExit()
            probe = nil
        }
        rmdir(probeCg.dir)
        carried.probeCgroupMade = false
        // Our last holds on the netns go first: with its processes gone the kernel then
        // deletes it and its veths by itself. Runtime state, cgroup, lease and ports go back
        // now; the veths are awaited, and an unused bridge goes, after the exit is reported
        // (run()).
        relay?.reset()
        nameServer = nil
        carried.goingVeths += (try? held.release(upTo: .run, network: .init(netnsGone: true, keepBridge: true))) ?? []
        netSettings = nil
    }

    /// -it: what the user types (our stdin) into the pty master, never blocking the loop:
    /// what the master cannot take yet waits, and stdin is not read meanwhile.
    func copyTTYInput(master: Int32) {
        if ttyPending.isEmpty && carried.ttyIn >= 0 {
            var b = [UInt8](repeating: 0, count: 4096)
            let n = b.withUnsafeMutableBytes { Glibc.read(carried.ttyIn, $0.baseAddress, $0.count) }
            if n > 0 { ttyPending = Array(b[0..<n]) } else if n == 0 || (errno != EAGAIN && errno != EINTR) { carried.ttyIn = -1 }
        }
        if !ttyPending.isEmpty {
            let n = ttyPending.withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
            if n > 0 { ttyPending.removeFirst(n) } else if n < 0 && errno != EAGAIN && errno != EINTR { ttyPending = [] }
        }
    }

    /// `pause`/`unpause` seen in cgroup.events. Paused: probes stop and health is
    /// `unhealthy` (Docker's rule); thawed: probes resume one interval later.
    func frozenNow() -> Bool {
        guard let fd = carried.cgroupEvents else { return false }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = buf.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, $0.count, 0) }
        return n > 0 && String(decoding: buf[0..<n], as: UTF8.self).contains("frozen 1")
    }

    func checkFrozen() {
        guard carried.cgroupEvents != nil else { return }
        let frozen = frozenNow()
        guard frozen != carried.paused else { return }
        carried.paused = frozen
        state.Paused = frozen
        state.Status = frozen ? .paused : .running
        if monitor != nil {
            if frozen {
                // Killed without waiting (a frozen tree dies in its own time; blocking here
                // would keep this state from being saved): finishProbe drops the result.
                if let p = probe {
                    try? probeCg.killAll()
                    p.pidfd.sendSignal(SIGKILL)
                    dropProbeResult = true
                }
                let was = monitor!.state.Status
                monitor!.state.Status = .unhealthy
                state.Health = monitor!.state
                if was != .unhealthy { emit("health_status: unhealthy") }
            } else {
                carried.nextProbeNs = Time.monotonicNanos() + monitor!.nextWait(nowNs: Time.nowNanos())
            }
        }
        save()
    }

    func readOOMKills() -> UInt64? {
        guard let fd = carried.memoryEvents else { return nil }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        for line in String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return UInt64(line.dropFirst(9))
        }
        return nil
    }

    /// Docker's `oom` event for every new OOM kill in the container's cgroup; the run is
    /// then recorded as OOMKilled.
    func checkOOM() {
        guard let n = readOOMKills(), n > carried.oomKills else { return }
        carried.oomKills = n
        carried.oomKilled = true
        say("the kernel's OOM killer killed a process of the container (oom_kill \(n))")
        emit("oom")
    }

    // MARK: network

    /// Before the container exists: ports reserved (once), an address leased on each of
    /// its networks, the hosts file's start; with --network container: the other
    /// container's netns of the moment.
    func prepareNetwork() throws -> [Lease] {
        let mode = try NetworkMode(container.networkMode, engine: engine)
        switch mode {
        case .bridge(let name):
            if carried.reservations == nil {
                carried.reservations = try PortReservations.reserve(container.HostConfig.Publish ?? [], holders: HostNetwork.publisher)
            }
            let nets = [Container.ConnectedNetwork(Name: name, Aliases: container.HostConfig.NetworkAliases ?? [])]
                + (container.HostConfig.ConnectedNetworks ?? [])
            var leases: [Lease] = []
            do {
                for (i, n) in nets.enumerated() {
                    leases.append(try engine.lease(id, container, network: try engine.networks.get(n.Name), aliases: n.Aliases,
                                                   interface: "eth\(i)", supervisor: (getpid(), state.SupervisorStart)))
                }
            } catch {
                _ = try? held.release(upTo: .run)
                throw error
            }
            return leases
        case .container(let other):
            let ov = try engine.view(other)
            guard ov.state.Running, ov.state.Pid > 0 else {
                throw Failure("cannot join the network namespace of container \(ov.container.Name): it is not running (start it first: `swiftrun start \(ov.container.Name)`)")
            }
            // The namespace is pinned by an fd of ours, taken from the init that the runtime's
            // record names (pid and start time) and checked alive after the open: a spec path
            // /proc/PID/ns/net would be opened later by the init, and a PID reused in between
            // would join whatever process then has it.
            let rec = try rt.load(ov.container.Id)
            guard let pidfd = FD.pidfd(rec.pid), Proc.isAlive(rec.pid, startTime: rec.startTime) else {
                throw Failure("cannot join the network namespace of container \(ov.container.Name): its process is gone (start it again: `swiftrun start \(ov.container.Name)`)")
            }
            let netns = try FD.open("/proc/\(rec.pid)/ns/net", O_RDONLY | O_CLOEXEC)
            guard pidfd.sendSignal(0) else {
                throw Failure("cannot join the network namespace of container \(ov.container.Name): its process exited while joining")
            }
            joinedNetns = netns
            let path = engine.dir(id) + "/bundle/config.json"
            var spec = try JSON.decodeSpec(try Files.read(path), what: "bundle config")
            let ns = spec.linux?.namespaces?.map { $0.type == "network" ? Spec.Namespace(type: "network", path: "/proc/\(getpid())/fd/\(netns.raw)") : $0 }
            spec.linux?.namespaces = ns
            try Files.writeAtomic(path, try JSON.encode(spec), mode: 0o600)
            return []
        case .none:
            if relay == nil, let publish = container.HostConfig.Publish, !publish.isEmpty {
                let r = try PortReservations.reserve(publish, listening: true, holders: HostNetwork.publisher)
                // The relay holds two fds per connection. Only here: the container inherits
                // the supervisor's limits (its spec sets none).
                var nofile = rlimit()
                if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max {
                    nofile.rlim_cur = nofile.rlim_max
                    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &nofile)
                }
                relay = PortRelay(listeners: try r.listen())
                carried.reservations = r
            }
            return []
        case .host:
            return []
        }
    }

    /// After create, before start: the veths into the init's netns, addresses, the default
    /// route (first network), published ports (first network).
    func plug(_ leases: [Lease], pid: Int32) throws {
        let nsPath = "/proc/\(pid)/ns/net"
        let ns = try FD.open(nsPath, O_RDONLY | O_CLOEXEC)
        let ports = carried.reservations?.ports ?? []
        var n = NetworkSettings()
        n.Ports = Engine.dockerBindings(ports)
        n.SandboxKey = nsPath
        for (i, lease) in leases.enumerated() {
            let l = try HostNetwork.plug(lease, netns: ns.raw, ports: i == 0 ? ports : [], defaultRoute: i == 0)
            n.add(l)
        }
        netSettings = n
        // User networks name their containers: over DNS too, for nslookup and dig.
        if leases.contains(where: { $0.Network != "bridge" }) {
            nameServer = try NameServer(netns: ns, hostsPath: engine.hostsPath(id))
        }
    }

    func finishState(code: Int32) {
        let now = Time.nowNanos()
        state.Running = false
        state.Paused = false
        state.Pid = 0
        state.Status = .exited
        state.ExitCode = code
        state.FinishedAt = Time.rfc3339Nano(now)
        state.FinishedNs = now
        state.StopRequested = stopRequested
        state.NetworkSettings = nil
        state.OOMKilled = carried.oomKilled
        if monitor != nil {
            // Docker: a stopped container is unhealthy until it runs again.
            monitor!.state.Status = .unhealthy
            state.Health = monitor!.state
        }
        save()
        emit("die", ["exitCode": String(code)])
    }

    /// Whether to start again (RestartManager decides), after waiting out the backoff; a stop
    /// request ends the wait.
    func shouldRestart(code: Int32, ranNs: Int64) -> Bool {
        let forced = restartRequested
        restartRequested = false
        if stopRequested { return false }
        // `update --restart` may have changed the policy since we started, `rename` the name.
        if let c = try? engine.load(id) {
            container.HostConfig = c.HostConfig
            container.Name = c.Name
        }
        guard let wait = carried.restarts.afterExit(policy: container.HostConfig.RestartPolicy, code: code, ranNs: ranNs,
                                            restartCount: state.RestartCount, forced: forced, stopRequested: false) else { return false }
        state.RestartCount += 1
        state.Status = .restarting
        state.Restarting = true
        save()
        // Wait out the backoff; a stop request ends it.
        let until = Time.monotonicNanos() + wait
        while Time.monotonicNanos() < until {
            if stopRequested {
                state.Status = .exited
                state.Restarting = false
                save()
                return false
            }
            usleep(UInt32(min(50_000, max(1, (until - Time.monotonicNanos()) / 1000))))
        }
        return !stopRequested
    }

    // MARK: health probes

    /// The probes' cgroup, inside the container's (set for each run).
    var probeCg = Cgroup(mountpoint: "/nonexistent", path: "")

    func startProbe() {
        guard let m = monitor, let hc = container.Config.Healthcheck, let test = hc.Test else { return }
        let startNs = Time.nowNanos()
        do {
            if prepared == nil {
                prepared = try rt.prepareExec(id, nil, args: Health.probeArgs(test, shell: container.Config.Shell))
            }
            // Its own cgroup inside the container's: a timeout kills the whole tree.
            if !carried.probeCgroupMade {
                if mkdir(probeCg.dir, 0o755) != 0 && errno != EEXIST { throw SysError("mkdir", probeCg.dir) }
                carried.probeCgroupMade = true
            }
            let out = try FD.pipe()
            let child = try rt.spawnExec(prepared!, stdio: [devnull, out.w.raw, out.w.raw], cgroup: probeCg.dir,
                                         interrupted: { [unowned self] in self.frozenNow() })
            out.w.close()
            _ = fcntl(out.r.raw, F_SETFL, O_NONBLOCK)
            probe = Probe(pid: child.pid, pidfd: child.pidfd, out: out.r, startNs: startNs,
                          deadlineNs: Time.monotonicNanos() + m.timing.timeout)
            // frozenNow() read cgroup.events while the probe started, which consumes the
            // POLLPRI the main loop waits for: look at it here instead.
            checkFrozen()
        } catch {
            // A pause froze the probe as it started: no result; the pause is recorded now.
            if frozenNow() { checkFrozen(); return }
            // Docker records a probe that cannot start as a failure (exit code -1... here 125).
            record(HealthResult(Start: Time.rfc3339Nano(startNs), End: Time.rfc3339Nano(), ExitCode: -1,
                                Output: "\(error)"), startNs: startNs)
        }
    }

    func readProbeOutput() {
        guard probe != nil else { return }
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(probe!.out.raw, $0.baseAddress, $0.count) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { probe!.outDone = true }
            if n <= 0 { break }
            let room = Health.maxOutputLen - probe!.output.count
            if room > 0 { probe!.output.append(contentsOf: buf[0..<min(n, room)]) }
            if n > room { probe!.truncated = true }
        }
    }

    func killProbe() {
        guard probe != nil else { return }
        try? probeCg.killAll()
        probe!.pidfd.sendSignal(SIGKILL)
        finishProbe(timedOut: true)
        // Measured on 6.18: once killed, a cgroup SIGKILLs every process later cloned into
        // it with CLONE_INTO_CGROUP (the fork's kill sequence is the parent cgroup's). The
        // next probe gets a fresh one.
        _ = probeCg.waitEmpty(timeoutMs: 5_000)
        rmdir(probeCg.dir)
        carried.probeCgroupMade = false
    }

    func finishProbe(timedOut: Bool) {
        guard let p = probe else { return }
        let exit = p.pidfd.waitExit() ?? 0
        readProbeOutput()
        let out = probe!
        probe = nil
        if dropProbeResult {
            dropProbeResult = false
            // Its cgroup was killed: a fresh one for the next probe (see killProbe).
            _ = probeCg.waitEmpty(timeoutMs: 1_000)
            rmdir(probeCg.dir)
            carried.probeCgroupMade = false
            return
        }
        var result = HealthResult(Start: Time.rfc3339Nano(out.startNs), End: Time.rfc3339Nano(), ExitCode: Int(exit),
                                  Output: Health.output(out.output, truncated: out.truncated))
        if timedOut {
            result.ExitCode = -1
            result.Output = Health.timeoutOutput(monitor?.timing.timeout ?? 0, partial: result.Output)
        }
        record(result, startNs: out.startNs)
    }

    func record(_ r: HealthResult, startNs: Int64) {
        guard monitor != nil else { return }
        let changed = monitor!.record(r, startNs: startNs)
        state.Health = monitor!.state
        carried.nextProbeNs = Time.monotonicNanos() + monitor!.nextWait(nowNs: Time.nowNanos())
        save()
        if let s = changed {
            emit("health_status: \(s.rawValue)")
            if s == .unhealthy { onUnhealthy() }
        }
    }

    /// podman's --health-on-failure, at the transition to unhealthy.
    func onUnhealthy() {
        let timeout = Int64(container.Config.StopTimeout ?? 10) * 1_000_000_000
        let sig = Signals.parse(container.Config.StopSignal) ?? SIGTERM
        switch container.HostConfig.HealthOnFailure {
        case "kill":
            try? rt.kill(id, signal: SIGKILL, all: true)
        case "stop":
            _ = try? FD.open(engine.dir(id) + "/stop", O_WRONLY | O_CREAT, mode: 0o600)
            try? rt.kill(id, signal: sig, all: false)
            killAtNs = Time.monotonicNanos() + timeout
        case "restart":
            restartRequested = true
            try? rt.kill(id, signal: sig, all: false)
            killAtNs = Time.monotonicNanos() + timeout
        default: break
        }
    }
}
