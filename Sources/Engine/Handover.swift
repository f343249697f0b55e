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
    var pid: Int32
    var pidfd: Int32
    var console: Int32          // the pty master (-t), also the stdout source; -1 without
    var out: Int32, err: Int32
    var outOpen: Bool, errOpen: Bool
    var ttyIn: Int32
    var attachOut: Int32, attachErr: Int32
    var lock: Int32
    var idle: Int32
    var memoryEvents: Int32, cgroupEvents: Int32
    var oomKills: UInt64, oomKilled: Bool
    var paused: Bool
    var nameServer: Int32
    var reservations: [Int32], ports: [PortBinding]
    var relay: Bool, relayNetns: Int32
    var nextProbeNs: Int64, backoffNs: Int64
    var probeCgroupMade: Bool
    var goingVeths: [HostNetwork.GoingVeth]
    /// Lines not ended yet (a prompt, say): they go on when the rest comes.
    var pendingOut: [UInt8], pendingErr: [UInt8]

    /// Every fd it carries (beyond 0-5, which the supervisor was started with).
    var fds: [Int32] {
        ([pidfd, console, out, err, lock, idle, memoryEvents, cgroupEvents, nameServer, relayNetns] + reservations).filter { $0 >= 0 }
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
            do { idleExe = try FD.openPath(path).release() } catch {
                say("\(error): idling in place (0.65 MB instead of 0.05; `make build` puts swiftrun-idle beside swiftrun-supervise)")
            }
        } catch {
            say("\(error): idling in place (0.65 MB instead of 0.05)")
        }
    }

    /// Nothing in flight that lives only in this process's memory.
    func canHandOver(exited: Bool) -> Bool {
        idleExe >= 0 && !exited && probe == nil && killAtNs == 0 && !restartRequested && !dropProbeResult
            && ttyPending.isEmpty && joinedNetns == nil && log.out.isEmpty
            && (relay.map { $0.conns.isEmpty && $0.flows.isEmpty } ?? true)
    }

    /// Execs swiftrun-idle with the poll set and deadline of this wait. Returns only when
    /// that failed (said in supervisor.log): the caller then waits here.
    func handOver(_ fds: [pollfd], wakeNs: Int64, _ c: Runtime.Created, _ pipes: (out: FD, err: FD), open: (out: Bool, err: Bool)) {
        let h = Handover(
            pid: c.pid, pidfd: c.pidfd.raw, console: c.console?.raw ?? -1, out: pipes.out.raw, err: pipes.err.raw,
            outOpen: open.out, errOpen: open.err, ttyIn: ttyIn, attachOut: attachOut, attachErr: attachErr,
            lock: lockFD, idle: idleExe, memoryEvents: memoryEvents?.raw ?? -1, cgroupEvents: cgroupEvents?.raw ?? -1,
            oomKills: oomKills, oomKilled: oomKilled, paused: paused, nameServer: nameServer?.sock.raw ?? -1,
            reservations: reservations?.fds.map(\.raw) ?? [], ports: reservations?.ports ?? [],
            relay: relay != nil, relayNetns: relay?.netns?.raw ?? -1, nextProbeNs: nextProbeNs, backoffNs: restarts.backoffNs,
            probeCgroupMade: probeCgroupMade, goingVeths: goingVeths, pendingOut: log.pendingOut, pendingErr: log.pendingErr)
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
        let carried = h.fds
        for fd in carried { _ = fcntl(fd, F_SETFD, 0) }
        let err = ProcessControl.exec(fd: idleExe, args: args, env: environ)
        for fd in carried { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        say("idle handover: \(SysError("execveat", "swiftrun-idle", errno: err)): idling in place")
        if err == ENOENT || err == EACCES || err == ENOEXEC { idleExe = -1 }
    }

    /// Back from swiftrun-idle: the same container, mid-run.
    func adopt(_ h: Handover) -> ResumedRun {
        for fd in h.fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        ProcessControl.setName("swiftrun-superv")
        lockFD = h.lock
        idleExe = h.idle
        attachOut = h.attachOut
        attachErr = h.attachErr
        ttyIn = h.ttyIn
        memoryEvents = h.memoryEvents >= 0 ? FD(h.memoryEvents) : nil
        cgroupEvents = h.cgroupEvents >= 0 ? FD(h.cgroupEvents) : nil
        oomKills = h.oomKills
        oomKilled = h.oomKilled
        paused = h.paused
        nextProbeNs = h.nextProbeNs
        restarts.backoffNs = h.backoffNs
        probeCgroupMade = h.probeCgroupMade
        goingVeths = h.goingVeths
        log.pendingOut = h.pendingOut
        log.pendingErr = h.pendingErr
        netSettings = state.NetworkSettings
        if let rec = try? rt.load(id) {
            probeCg = Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath + "/swiftrun-health")
        }
        if let hc = container.Config.Healthcheck {
            monitor = HealthMonitor(timing: Health.Timing(hc), state: state.Health ?? HealthState(), startedNs: state.StartedNs)
        }
        if !h.reservations.isEmpty || !h.ports.isEmpty {
            reservations = PortReservations(fds: h.reservations.map { FD($0) }, ports: h.ports)
        }
        if h.relay, let r = reservations {
            do {
                relay = PortRelay(listeners: try r.listen())
                relay!.netns = h.relayNetns >= 0 ? FD(h.relayNetns) : nil
            } catch {
                say("resume the port relay: \(error): connections to its published ports are refused until `swiftrun restart \(id)`")
            }
        }
        if h.nameServer >= 0 { nameServer = NameServer(sock: FD(h.nameServer), hostsPath: engine.hostsPath(id)) }
        let console = h.console >= 0 ? FD(h.console) : nil
        let created = Runtime.Created(pid: h.pid, pidfd: FD(h.pidfd), console: console)
        return ResumedRun(created: created, pipes: (console ?? FD(h.out), FD(h.err)), open: (h.outOpen, h.errOpen))
    }
}
