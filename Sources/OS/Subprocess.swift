#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Runs a program with posix_spawn (safe from a multithreaded process), feeding it
/// `input` on stdin. Used for hooks that run in the runtime's namespaces.
public enum Subprocess {
    public struct Result {
        public var status: Int32   // exit code, or 128+signal
        public var timedOut: Bool
    }

    public static func run(_ path: String, args: [String], env: [String], input: [UInt8] = [],
                           timeoutSeconds: Int = 0) throws -> Result {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SysError("pipe") }
        let readEnd = FD(fds[0]), writeEnd = FD(fds[1])
        // Glibc lacks pipe2: mark both ends CLOEXEC; the dup2 onto the child's 0 clears it there.
        _ = sr_fcntl_setfd(writeEnd.raw, FD_CLOEXEC)
        _ = sr_fcntl_setfd(readEnd.raw, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, readEnd.raw, 0)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Children get default signal handling and an empty mask, whatever this process has.
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var pid: pid_t = 0
        let argv = (args.isEmpty ? [path] : args).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else { throw SysError("posix_spawn", path, errno: rc) }
        readEnd.close()
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
        return Result(status: signaled != 0 ? 128 + code : code, timedOut: timedOut)
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
}
