import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

extension Engine {
    /// `healthcheck run`: one probe now, as the supervisor runs them (the container's
    /// namespaces, user, cwd, env, caps, seccomp; output merged and cut at 4096 bytes;
    /// SIGKILL at the timeout). The result is returned, not recorded: only the supervisor
    /// writes the container's state.
    public func probeOnce(_ id: String) throws -> HealthResult {
        let v = try view(id)
        guard let hc = v.container.Config.Healthcheck, let test = hc.Test else {
            throw Failure("container \(v.container.Name) has no health check: create it with --health-cmd, or from an image with a HEALTHCHECK")
        }
        guard v.state.Running else {
            throw Failure("container \(v.container.Name) is not running: start it with `swiftrun start \(v.container.Name)`")
        }
        // The probe is a grandchild (the exec init forks after setns): adopt it to wait for it.
        try ProcessControl.becomeSubreaper()
        let rt = runtime
        let prepared = try rt.prepareExec(id, nil, args: Health.probeArgs(test, shell: v.container.Config.Shell))
        let (r, w) = try FD.pipe()
        let devnull = try FD.open("/dev/null", O_RDWR)
        // Its own cgroup, as the supervisor's probes: a timeout kills the whole tree. Fresh
        // each time (a killed cgroup kills what is later cloned into it, see Supervisor).
        let rec = prepared.record
        let cg = Cgroup(mountpoint: rec.cgroupMount, path: rec.cgroupPath + "/swiftrun-probe-\(getpid())")
        guard mkdir(cg.dir, 0o755) == 0 else { throw SysError("mkdir", cg.dir) }
        defer {
            _ = cg.waitEmpty(timeoutMs: 5_000)
            rmdir(cg.dir)
        }
        let start = Time.nowNanos()
        let child = try rt.spawnExec(prepared, stdio: [devnull.raw, w.raw, w.raw], cgroup: cg.dir)
        w.close()
        let timeout = Health.Timing(hc).timeout
        let deadline = Time.monotonicNanos() + timeout
        var output: [UInt8] = []
        var truncated = false
        var timedOut = false
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            guard Engine.waitReadable(r.raw, ms: Int(max(0, (deadline - Time.monotonicNanos()) / 1_000_000))) else {
                timedOut = true
                break
            }
            let n = buf.withUnsafeMutableBytes { read(r.raw, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            let room = Health.maxOutputLen - output.count
            if room > 0 { output += buf[0..<min(n, room)] }
            if n > room { truncated = true }
        }
        if timedOut { try? cg.killAll() }
        let code = child.pidfd.waitExit() ?? -1
        let text = Health.output(output, truncated: truncated)
        return HealthResult(Start: Time.rfc3339Nano(start), End: Time.rfc3339Nano(),
                            ExitCode: timedOut ? -1 : Int(code),
                            Output: timedOut ? Health.timeoutOutput(timeout, partial: text) : text)
    }
}
