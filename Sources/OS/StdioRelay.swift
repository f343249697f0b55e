#if canImport(Glibc)
import Glibc
#endif
import CShim

/// What an attached command (`run` in the foreground, `start -a`, `exec`) gives a container
/// instead of its own stdin, stdout and stderr: pipes, or the container's own pty, that the
/// command copies to and from. A container handed the caller's fds could reopen them through
/// /proc/self/fd/N with more access than it was given (read a file the caller only appends
/// to, truncate it, keep reading the user's terminal after the command returned): a host fd
/// in a container, the class of CVE-2016-9962 and CVE-2024-21626. Docker never hands them
/// over either. The copy ends when the process does: nothing of the
/// user's outlives the command.
public final class StdioRelay {
    /// The container's ends: stdin (a pipe's read end, the pty, or /dev/null), stdout and
    /// stderr (pipes' write ends, or the pty). Closed here by `handedOver`.
    public private(set) var containerEnds: [FD]
    public var containerStdio: [Int32] { containerEnds.map(\.raw) }

    /// Ours: where the user's input goes (nil: no -i), and where the output comes from.
    private var input: FD?
    private var outputs: [(fd: FD, to: Int32)]
    /// The terminal is input and output at once: input's end must not close it.
    private let terminal: Bool
    private let userIn: Int32, userOut: Int32, userErr: Int32
    private var pending: [UInt8] = []
    private var pendingAt = 0
    /// The user's stdin is still read (false after its EOF, while `pending` drains).
    private var reading: Bool

    /// Pipes for all three; without `input` the container's stdin is /dev/null.
    public init(input: Bool, userFds: (Int32, Int32, Int32) = (0, 1, 2)) throws {
        (userIn, userOut, userErr) = userFds
        terminal = false
        func pipe() throws -> (r: FD, w: FD) {
            var fds: [Int32] = [-1, -1]
            guard sr_pipe_cloexec(&fds) == 0 else { throw SysError("pipe2") }
            return (FD(fds[0]), FD(fds[1]))
        }
        let stdin: FD
        if input {
            let p = try pipe()
            stdin = p.r
            self.input = p.w
        } else {
            stdin = try FD.open("/dev/null", O_RDONLY)
        }
        let out = try pipe(), err = try pipe()
        // A bigger pipe for the output: fewer wake-ups for each side of the copy (1 GiB through
        // `run` in the foreground: docs/benchmarks.md). Best effort: the default 64 KiB works.
        _ = fcntl(out.w.raw, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        containerEnds = [stdin, out.w, err.w]
        outputs = [(out.r, userOut), (err.r, userErr)]
        reading = input
        if let i = self.input { _ = fcntl(i.raw, F_SETFL, O_NONBLOCK) }
    }

    /// A pty the container already has (`exec -t`): its master carries both ways.
    public init(terminal master: FD, input: Bool, userFds: (Int32, Int32) = (0, 1)) {
        (userIn, userOut) = userFds
        userErr = -1
        terminal = true
        containerEnds = []
        self.input = input ? master : nil
        outputs = [(master, userOut)]
        _ = fcntl(master.raw, F_SETFL, fcntl(master.raw, F_GETFL) | O_NONBLOCK)
        reading = input
    }

    /// The container (or its supervisor) has its ends now: ours go, so that the pipes see
    /// EOF and EPIPE when it is done with them.
    public func handedOver() {
        containerEnds.forEach { $0.close() }
        containerEnds = []
    }

    /// Copies until `done` is readable (the process's pidfd, or the supervisor's report of
    /// the exit), then what is already in the pipes, and returns. Without `done`, until the
    /// outputs reach EOF.
    public func run(until done: Int32? = nil) {
        // A container that closes its stdin, or a user's output that goes away (`| head -1`),
        // is EPIPE here, as in Docker's client, not a signal that kills the command mid-copy.
        var ignore = sigaction(), old = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigaction(SIGPIPE, &ignore, &old)
        defer { sigaction(SIGPIPE, &old, nil) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var open = outputs.map { _ in true }
        while true {
            var fds: [pollfd] = []
            fds.append(pollfd(fd: reading && pending.isEmpty ? userIn : -1, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: pending.isEmpty ? -1 : input?.raw ?? -1, events: Int16(POLLOUT), revents: 0))
            fds.append(pollfd(fd: done ?? -1, events: Int16(POLLIN), revents: 0))
            for (i, o) in outputs.enumerated() { fds.append(pollfd(fd: open[i] ? o.fd.raw : -1, events: Int16(POLLIN), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            for i in outputs.indices where fds[3 + i].revents != 0 {
                switch copyOnce(i, &buf) {
                case .end: open[i] = false
                case .userGone:
                    // Nobody reads it any more: the container's writes fail too, as they would
                    // writing to the user's pipe itself (`yes | head -1` ends).
                    open[i] = false
                    outputs[i].fd.close()
                case .copied, .nothingYet: break
                }
            }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { Glibc.read(userIn, $0.baseAddress, $0.count) }
                if n > 0 { pending += buf[0..<n] } else if n == 0 || errno != EINTR && errno != EAGAIN { reading = false }
            }
            if input != nil && (!pending.isEmpty || !reading) { flushInput() }
            if fds[2].revents != 0 {
                drain(open)
                return
            }
            if done == nil && !open.contains(true) { return }
        }
    }

    /// The process is done: what the pipes hold already is the rest of its output.
    public func drain(_ open: [Bool]? = nil) {
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        for i in outputs.indices where open?[i] ?? true {
            _ = fcntl(outputs[i].fd.raw, F_SETFL, fcntl(outputs[i].fd.raw, F_GETFL) | O_NONBLOCK)
            while copyOnce(i, &buf) == .copied {}
        }
    }

    private enum Copied { case copied, nothingYet, end, userGone }

    /// One read from output `i` to the user. A pty's master reads EIO once its last process
    /// is gone: the end, as EOF is for a pipe.
    private func copyOnce(_ i: Int, _ buf: inout [UInt8]) -> Copied {
        let fd = outputs[i].fd.raw
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return .nothingYet }
        guard n > 0 else { return .end }
        let written = buf.withUnsafeBytes { b -> Bool in
            var off = 0
            while off < n {
                let w = Glibc.write(outputs[i].to, b.baseAddress! + off, n - off)
                if w < 0 { if errno == EINTR { continue }; return false }
                off += w
            }
            return true
        }
        return written ? .copied : .userGone
    }

    /// What the user typed, as much as the container takes without blocking us: the rest
    /// waits, and no more is read meanwhile. After the user's EOF, the container's stdin
    /// pipe sees EOF too (a terminal stays open: it is the output as well).
    private func flushInput() {
        guard let i = input else { return }
        while pendingAt < pending.count {
            let n = pending.withUnsafeBytes { Glibc.write(i.raw, $0.baseAddress! + pendingAt, $0.count - pendingAt) }
            if n > 0 { pendingAt += n; continue }
            if n < 0 && (errno == EINTR) { continue }
            if n < 0 && errno == EAGAIN { return }
            pendingAt = pending.count // EPIPE: the container closed its stdin
            reading = false
            break
        }
        pending.removeAll(keepingCapacity: true)
        pendingAt = 0
        if !reading {
            if !terminal { i.close() }
            input = nil
        }
    }
}
