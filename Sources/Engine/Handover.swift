import Network
import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// What a supervisor carries through swiftrun-idle and back: its descriptors (by number:
/// they stay open across both execs) and what state.json does not hold.
///
/// Idle, the Swift supervisor keeps ~0.65 MB of private pages whatever it gives back (the
/// runtime's data and metadata caches, a PIE's relocated tables, its heap:
/// docs/benchmarks.md); conmon's idle PSS is 0.4 MB. So a quiet second after its
/// last event it execs swiftrun-idle (Sources/CIdle/idle.c: ~50 KB RSS), which polls the
/// same fds until one is ready or the next timer is due and execs the supervisor back with
/// this: same pid, same children, same locks.
struct Handover: Codable {
    var carried: Supervisor.Carried
    /// The container's process and its output: the pty master (-t, also the stdout source)
    /// or the two pipes, and which of them are still open.
    var pid: Int32
    var pidfd: FD
    var console: FD?
    /// nil with a console: stdout is the master (one number, one owner when decoded).
    var out: FD?, err: FD
    var outOpen: Bool, errOpen: Bool
    /// The objects made of carried fds: the name server's socket, the relay's netns.
    var nameServer: FD?
    var relay: Bool, relayNetns: FD?
    /// Lines not ended yet (a prompt, say): they go on when the rest comes.
    var pendingOut: [UInt8], pendingErr: [UInt8]

    /// Every fd it carries (beyond 0-5, which the supervisor was started with).
    var fds: [Int32] {
        let owned = [pidfd, console, out, err, carried.memoryEvents, carried.cgroupEvents, nameServer, relayNetns]
            + (carried.reservations?.fds ?? [])
        return (owned.compactMap { $0?.raw } + [carried.lockFD, carried.idleExe]).filter { $0 >= 0 }
    }
}

/// A resumed run: what `run()` goes on with instead of starting the container.
struct ResumedRun {
    var created: Runtime.Created
    var pipes: (out: FD, err: FD)
    var open: (out: Bool, err: Bool)
}

extension Supervisor {
    /// swiftrun-idle beside us (or in libexec), held from the first start: without it the
    /// supervisor idles in place, as before (Idle.releaseAndPoll), and says so once.
    func openIdle() {
        do {
            let path = try Runtime.helperPath("swiftrun-idle", env: "SWIFTRUN_IDLE")
            do { carried.idleExe = try FD.openPath(path).release() } catch {
                say("\(error): idling in place (0.65 MB instead of 0.05; `make build` puts swiftrun-idle beside swiftrun-supervise)")
            }
        } catch {
            say("\(error): idling in place (0.65 MB instead of 0.05)")
        }
    }

    /// Nothing in flight that lives only in this process's memory.
    func canHandOver(exited: Bool) -> Bool {
        carried.idleExe >= 0 && !exited && probe == nil && killAtNs == 0 && !restartRequested && !dropProbeResult
            && ttyPending.isEmpty && joinedNetns == nil && log.out.isEmpty
            && (relay.map { $0.conns.isEmpty && $0.flows.isEmpty } ?? true)
    }

    /// Execs swiftrun-idle with the poll set and deadline of this wait. Returns only when
    /// that failed (said in supervisor.log): the caller then waits here.
    func handOver(_ fds: [pollfd], wakeNs: Int64, _ c: Runtime.Created, _ pipes: (out: FD, err: FD), open: (out: Bool, err: Bool)) {
        let h = Handover(
            carried: carried, pid: c.pid, pidfd: c.pidfd, console: c.console, out: c.console == nil ? pipes.out : nil, err: pipes.err,
            outOpen: open.out, errOpen: open.err, nameServer: nameServer?.sock, relay: relay != nil, relayNetns: relay?.netns,
            pendingOut: log.pendingOut, pendingErr: log.pendingErr)
        // In a memfd, not in argv: /proc/PID/cmdline is world-readable, and a pending line
        // is the container's output.
        let memfd: FD
        do {
            memfd = try FD.memfd("swiftrun-handover", cloexec: false)
            try memfd.writeAll(try JSON.encode(h))
            guard lseek(memfd.raw, 0, SEEK_SET) == 0 else { throw SysError("lseek", "memfd") }
        } catch {
            say("idle handover: \(error)")
            return
        }
        // Our own binary, by fd: what resumes is what runs now, whatever is on disk by then.
        // Not O_CLOEXEC: swiftrun-idle gets it (and closes it on the way back).
        guard let exe = try? FD.openPath("/proc/self/exe", cloexec: false) else {
            say("idle handover: \(SysError("open", "/proc/self/exe"))")
            return
        }
        let polled = fds.filter { $0.fd >= 0 }.map { "\($0.fd):\($0.events)" }.joined(separator: ",")
        let args = ["swiftrun-idle", "\(exe.raw)", "\(wakeNs == Int64.max ? -1 : wakeNs)", polled, "--",
                    CommandLine.arguments[0], engine.store.root, id, "resume", "\(memfd.raw)"]
        let passed = h.fds
        for fd in passed { _ = fcntl(fd, F_SETFD, 0) }
        let err = ProcessControl.exec(fd: carried.idleExe, args: args, env: environ)
        for fd in passed { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        say("idle handover: \(SysError("execveat", "swiftrun-idle", errno: err)): idling in place")
        if err == ENOENT || err == EACCES || err == ENOEXEC { carried.idleExe = -1 }
    }

    /// Back from swiftrun-idle: the same container, mid-run.
    func adopt(_ h: Handover) -> ResumedRun {
        for fd in h.fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        ProcessControl.setName("swiftrun-superv")
        carried = h.carried
        log.pendingOut = h.pendingOut
        log.pendingErr = h.pendingErr
        netSettings = state.NetworkSettings
        if let rec = try? rt.load(id) {
            probeCg = Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath + "/swiftrun-health")
        }
        if let hc = container.Config.Healthcheck {
            monitor = HealthMonitor(timing: Health.Timing(hc), state: state.Health ?? HealthState(), startedNs: state.StartedNs)
        }
        if h.relay, let r = carried.reservations {
            do {
                relay = PortRelay(listeners: try r.listen())
                relay!.netns = h.relayNetns
            } catch {
                say("resume the port relay: \(error): connections to its published ports are refused until `swiftrun restart \(id)`")
            }
        }
        if let sock = h.nameServer { nameServer = NameServer(sock: sock, hostsPath: engine.hostsPath(id)) }
        let created = Runtime.Created(pid: h.pid, pidfd: h.pidfd, console: h.console)
        return ResumedRun(created: created, pipes: (h.console ?? h.out ?? FD(-1), h.err), open: (h.outOpen, h.errOpen))
    }
}
