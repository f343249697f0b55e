import CShim
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// The runtime's side of swiftrun-init's protocol, drawn once for create and exec.
/// One socketpair; the plan goes down, reports (sr_report, an fd beside some) come up:
///
///     runtime                                  swiftrun-init
///     ── [id maps, 1 byte] ──────────────▶     (a new user ns: waits to be mapped)
///     ── plan ───────────────────────────▶     reads it all, then carries it out
///     ◀──────────────────────────── MAPS       user ns made by unshare after joins
///     ── id maps, 1 byte ────────────────▶
///     ◀──────────────────────────── SYNC       createRuntime/prestart hooks due
///     ── 1 byte ─────────────────────────▶
///     ── premade trees (SCM_RIGHTS) ─────▶     after the last reply before any mount
///     ◀─────────────────── CONSOLE + fd        the pty master (process.terminal)
///     ◀─────────────────── SECCOMP + fd        the listener (seccomp agent)
///     ◀──────────────────────────── PID        the forker, after fork (joined pid ns; exec)
///     ◀──────────────────────────── READY      the container's process, before its exec
///     ◀──────────────────────────── ERROR      step, syscall, path, errno: at any point
///
/// MAPS and SYNC come only from a create's init; PID from an init that forks (every exec,
/// a create that joins a pid or time namespace). PID and READY come from two processes, in
/// either order.
struct InitSession {
    let sock: FD
    /// The process cloned: the init, or the forker when it forks.
    let spawned: Runtime.Created
    let ops: [InitOp]
    /// The forked process, from its PID report.
    private(set) var forked: Runtime.Created?

    /// What the runtime does at the create-only steps; exec's init never asks.
    struct Steps {
        var maps: (() throws -> Void)?
        var sync: (() throws -> Void)?
        var console: (FD) throws -> Void
        /// Asked every 20 ms while waiting; true gives up (a probe frozen by `pause`).
        var interrupted: (() -> Bool)?
    }

    struct Outcome {
        /// The container's process: the forked one when the init forked.
        var process: Runtime.Created
        var seccompListener: FD?
    }

    init(_ s: Runtime.Spawned, ops: [InitOp]) {
        sock = s.sock
        spawned = s.created
        self.ops = ops
    }

    /// The plan; an init that died before reading it has its own report of why.
    func send(plan: [UInt8]) throws {
        do { try sock.writeAll(plan) } catch let e as SysError where e.errno == EPIPE {
            _ = try next()
            throw e
        }
    }

    /// Reports until READY (and PID, when the plan forks). The forker exits right after its
    /// PID report: it is reaped here, killed first in case `pause` froze it in between (a
    /// frozen task still dies of SIGKILL; its own exit would wait for the thaw).
    mutating func awaitReady(_ steps: Steps) throws -> Outcome {
        let forks = ops.contains(.fork)
        var ready = false
        var listener: FD?
        while !ready || (forks && forked == nil) {
            if let interrupted = steps.interrupted {
                var pfd = pollfd(fd: sock.raw, events: Int16(POLLIN), revents: 0)
                while poll(&pfd, 1, 20) == 0 {
                    if interrupted() { throw Interrupted() }
                }
            }
            switch try next() {
            case .ready: ready = true
            case .seccompListener(let fd): listener = fd
            case .console(let master): try steps.console(master)
            case .maps:
                guard let maps = steps.maps else { throw RuntimeError("unexpected MAPS report from swiftrun-init") }
                try maps()
            case .sync:
                guard let sync = steps.sync else { throw RuntimeError("unexpected SYNC report from swiftrun-init") }
                try sync()
            case .pid(let p):
                guard forks, forked == nil else { throw RuntimeError("container init sent an unexpected PID report") }
                let fd = FD(sr_pidfd_open(p))
                guard fd.raw >= 0 else { throw SysError("pidfd_open", "pid \(p)") }
                forked = Runtime.Created(pid: p, pidfd: fd)
            }
        }
        if forks {
            _ = sr_pidfd_send_signal(spawned.pidfd.raw, SIGKILL)
            var code: Int32 = 0, sig: Int32 = 0
            _ = sr_pidfd_wait(spawned.pidfd.raw, &code, &sig, 0)
        }
        return Outcome(process: forked ?? spawned, seccompListener: listener)
    }

    /// On failure: both processes killed and reaped.
    func abort() {
        var c: Int32 = 0, s: Int32 = 0
        for p in [spawned, forked].compactMap({ $0 }) {
            _ = sr_pidfd_send_signal(p.pidfd.raw, SIGKILL)
            _ = sr_pidfd_wait(p.pidfd.raw, &c, &s, 0)
        }
    }

    /// `Steps.interrupted` said to give up.
    struct Interrupted: Error {}

    enum Report { case ready, sync, maps, pid(Int32), console(FD), seccompListener(FD) }

    /// The next report; an error report becomes a RuntimeError naming step, syscall and path,
    /// a closed socket the exit status of whichever process should have reported.
    func next() throws -> Report {
        var r = sr_report()
        var fd: Int32 = -1
        let n = sr_recv_exact(sock.raw, &r, MemoryLayout<sr_report>.size, &fd)
        let passed = fd >= 0 ? FD(fd) : nil
        if n < 0 { throw SysError("read a report from swiftrun-init", nil, errno: Int32(-n)) }
        if n == 0 {
            let watched = forked ?? spawned
            var code: Int32 = 0, sig: Int32 = 0
            if sr_pidfd_wait(watched.pidfd.raw, &code, &sig, 1) != 0 {
                throw RuntimeError("container init closed its sync socket without a report (pid \(watched.pid)); rerun with --debug")
            }
            throw RuntimeError("container init exited before it was ready (\(sig != 0 ? "signal \(code)" : "status \(code)")); rerun with --debug")
        }
        switch r.kind {
        case SR_REPORT_CONSOLE.rawValue:
            guard let passed else { throw RuntimeError("console report without a pty master") }
            return .console(passed)
        case SR_REPORT_SECCOMP.rawValue:
            guard let passed else { throw RuntimeError("seccomp report without a listener fd") }
            return .seccompListener(passed)
        case SR_REPORT_READY.rawValue: return .ready
        case SR_REPORT_SYNC.rawValue: return .sync
        case SR_REPORT_MAPS.rawValue: return .maps
        case SR_REPORT_PID.rawValue: return .pid(r.pid)
        default: throw Self.error(from: r, ops: ops)
        }
    }

    static func error(from r: sr_report, ops: [InitOp]) -> RuntimeError {
        let step = Runtime.cString(r.step), call = Runtime.cString(r.call), path = Runtime.cString(r.path)
        switch r.kind {
        case SR_REPORT_NOT_FOUND.rawValue:
            return RuntimeError("exec: \"\(path)\": executable file not found in $PATH", exitCode: 127)
        case SR_REPORT_NOT_EXEC.rawValue:
            return RuntimeError("exec: \"\(path)\": permission denied (not an executable file)", exitCode: 126)
        default:
            let err = SysError(call, path.isEmpty ? nil : path, errno: r.err)
            return RuntimeError("container init failed to \(step): \(err)")
        }
    }
}
