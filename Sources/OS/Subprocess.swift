#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Runs a program with posix_spawn (safe from a multithreaded process), feeding it
/// `input` on stdin. Used for hooks that run in the runtime's namespaces: they get stdin,
/// our stdout and stderr, and no other fd.
public enum Subprocess {
    public struct Result {
        public var status: Int32   // exit code, or 128+signal
        public var timedOut: Bool
        /// stdout and stderr together, when asked for.
        public var output: [UInt8] = []
    }

    public static func run(_ path: String, args: [String], env: [String], input: [UInt8] = [],
                           timeoutSeconds: Int = 0, captureOutput: Bool = false) throws -> Result {
        var ends: [Int32] = [-1, -1]
        guard sr_pipe_cloexec(&ends) == 0 else { throw SysError("pipe2") }
        let readEnd = FD(ends[0]), writeEnd = FD(ends[1])
        // The child gets the pipe as stdin, our stdout and stderr, nothing else, and
        // default signal handling with an empty mask, whatever this process has.
        var pid: pid_t = 0
        let argv = (args.isEmpty ? [path] : args).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var outEnds: [Int32] = [-1, -1]
        if captureOutput { guard sr_pipe_cloexec(&outEnds) == 0 else { throw SysError("pipe2") } }
        let outRead = FD(outEnds[0]), outWrite = FD(outEnds[1])
        let fds: [Int32] = captureOutput ? [readEnd.raw, outWrite.raw, outWrite.raw] : [readEnd.raw, 1, 2]
        let rc = fds.withUnsafeBufferPointer { sr_posix_spawn(path, argv, envp, $0.baseAddress, 3, 0, &pid) }
        guard rc == 0 else { throw SysError("posix_spawn", path, errno: rc) }
        readEnd.close()
        outWrite.close()
        let pidfd = FD(sr_pidfd_open(pid))
        var oldPipe = sigaction()
        var ign = sigaction()
        ign.__sigaction_handler.sa_handler = SIG_IGN
        sigaction(SIGPIPE, &ign, &oldPipe)
        try? writeEnd.writeAll(input) // a hook may not read its stdin
        sigaction(SIGPIPE, &oldPipe, nil)
        writeEnd.close()

        let deadline = timeoutSeconds > 0 ? Time.monotonicNanos() + Int64(timeoutSeconds) * 1_000_000_000 : 0
        var timedOut = false
        var output: [UInt8] = []
        if captureOutput {
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                var p = pollfd(fd: outRead.raw, events: Int16(POLLIN), revents: 0)
                let left = deadline == 0 ? -1 : Int32(max(0, (deadline - Time.monotonicNanos()) / 1_000_000))
                let n = poll(&p, 1, left)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break } // the timeout below kills it
                let got = buf.withUnsafeMutableBytes { read(outRead.raw, $0.baseAddress, $0.count) }
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { break }
                output += buf[0..<got]
            }
        }
        while deadline > 0 {
            var p = pollfd(fd: pidfd.raw, events: Int16(POLLIN), revents: 0)
            let left = Int32(max(0, (deadline - Time.monotonicNanos()) / 1_000_000))
            let n = poll(&p, 1, left)
            if n > 0 { break }
            if n == 0 || Time.monotonicNanos() >= deadline {
                _ = sr_pidfd_send_signal(pidfd.raw, SIGKILL)
                timedOut = true
                break
            }
        }
        var code: Int32 = 0, signaled: Int32 = 0
        guard sr_pidfd_wait(pidfd.raw, &code, &signaled, 0) == 0 else { throw SysError("waitid", path) }
        return Result(status: signaled != 0 ? 128 + code : code, timedOut: timedOut, output: output)
    }
}

/// The process environment ("KEY=VALUE" strings).
public enum Environment {
    public static func current() -> [String] {
        var out: [String] = []
        var p = environ
        while let e = p.pointee {
            out.append(String(cString: e))
            p += 1
        }
        return out
    }

    public static func get(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
