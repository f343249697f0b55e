#if canImport(Glibc)
import Glibc
#endif
import CShim

/// A process by its pidfd: signals and the wait reach the process the fd was opened for,
/// never one that reused its pid.
extension FD {
    /// nil if the process is gone (or was never there).
    public static func pidfd(_ pid: Int32) -> FD? {
        let fd = sr_pidfd_open(pid)
        return fd >= 0 ? FD(fd) : nil
    }

    /// false if the process is gone (ESRCH) or the signal was refused.
    @discardableResult
    public func sendSignal(_ sig: Int32) -> Bool { sr_pidfd_send_signal(raw, sig) == 0 }

    /// Reaps the process (our child, or a descendant while we are its subreaper): its exit
    /// code, or 128+signal; nil if it is not ours to wait for, or, with `nohang`, still runs.
    @discardableResult
    public func waitExit(nohang: Bool = false) -> Int32? {
        var code: Int32 = 0, sig: Int32 = 0
        guard sr_pidfd_wait(raw, &code, &sig, nohang ? 1 : 0) == 0 else { return nil }
        return sig != 0 ? 128 + code : code
    }
}

/// Process-wide settings and the ways a Swift process may start another (posix_spawn, and
/// exec by fd).
public enum ProcessControl {
    /// Orphaned descendants (an exec's process, forked after setns) are reparented to us.
    public static func becomeSubreaper() throws {
        guard sr_set_subreaper() == 0 else { throw SysError("prctl PR_SET_CHILD_SUBREAPER") }
    }

    /// CVE-2019-5736: a process that sees us must not open our binary through /proc/PID/exe
    /// (that needs CAP_SYS_PTRACE once we are not dumpable). Each exec makes us dumpable again.
    public static func makeNonDumpable() { _ = sr_set_nondumpable() }

    /// The name `ps` and /proc/PID/comm show.
    public static func setName(_ name: String) { _ = sr_set_comm(name) }

    /// posix_spawn (safe from a multithreaded process): `fds[i]` becomes the child's fd i and
    /// every other fd is closed; signals at their defaults; `newSession`: setsid.
    public static func spawn(_ path: String, args: [String], env: [String], fds: [Int32], newSession: Bool) throws -> Int32 {
        let argv = args.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = fds.withUnsafeBufferPointer { sr_posix_spawn(path, argv, envp, $0.baseAddress, Int32($0.count), newSession ? 1 : 0, &pid) }
        guard rc == 0 else { throw SysError("posix_spawn", path, errno: rc) }
        return pid
    }

    /// execve of `path` with our environment: returns only if it failed, with the errno.
    public static func execPath(_ path: String, args: [String]) -> Int32 {
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        _ = execv(path, argv)
        return errno
    }

    /// execveat(fd): returns only if it failed, with the errno.
    public static func exec(fd: Int32, args: [String], env: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        _ = sr_exec_fd(fd, argv, env)
        return errno
    }
}
