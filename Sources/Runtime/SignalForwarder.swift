import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Forwards the signals a user sends to a foreground `run` to the container's init.
/// The signals are blocked in the calling thread before any other thread exists (so
/// all threads inherit the mask) and taken with sigwait on a dedicated thread.
/// The clone child resets mask and dispositions, so none of this reaches the container.
public final class SignalForwarder {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT]
    let pidfd: Int32
    /// -t: a pty master that follows our terminal's size on SIGWINCH (the kernel then
    /// signals the container's foreground process itself); -1 forwards SIGWINCH as is.
    public var resize: Int32 = -1

    public init(pidfd: Int32) { self.pidfd = pidfd }

    static func set() -> sigset_t {
        var s = sigset_t()
        sigemptyset(&s)
        for sig in forwarded { sigaddset(&s, sig) }
        return s
    }

    public static func blockSignals() {
        var s = set()
        pthread_sigmask(SIG_BLOCK, &s, nil)
    }

    public func start() {
        let box = Unmanaged.passRetained(self)
        var tid = pthread_t()
        pthread_create(&tid, nil, { arg in
            let me = Unmanaged<SignalForwarder>.fromOpaque(arg!).takeRetainedValue()
            var s = SignalForwarder.set()
            while true {
                var sig: Int32 = 0
                if sigwait(&s, &sig) != 0 { continue }
                if sig == SIGWINCH && me.resize >= 0 {
                    var r: UInt16 = 0, c: UInt16 = 0
                    if sr_winsize_get(0, &r, &c) == 0 || sr_winsize_get(1, &r, &c) == 0 { _ = sr_winsize_set(me.resize, r, c) }
                    continue
                }
                if sr_pidfd_send_signal(me.pidfd, sig) < 0 && errno == ESRCH { return nil }
            }
        }, box.toOpaque())
        pthread_detach(tid)
    }
}
