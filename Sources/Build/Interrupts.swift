import OS
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT), SIGTERM or SIGHUP during a build: the running step's container is
/// killed, the step fails, and the build cleans up as after any failure (no container,
/// mount or layer left), then exits 128+signal. Blocked before any thread exists and taken
/// with sigwait on a thread of its own, as SignalForwarder does for `run`.
/// A build killed with SIGKILL cannot clean up: its containers carry its pid and start time
/// (the `io.swiftrun.build` label), and the next build removes those of a dead one.
public final class Interrupts {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    let lock = Lock()
    private var running: FD?
    private var sig: Int32 = 0

    public init() {}

    public var received: Int32 { lock.locked { sig } }

    public func start() {
        var s = sigset_t()
        sigemptyset(&s)
        for x in Self.signals { sigaddset(&s, x) }
        pthread_sigmask(SIG_BLOCK, &s, nil)
        let box = Unmanaged.passRetained(self)
        var tid = pthread_t()
        pthread_create(&tid, nil, { arg in
            let me = Unmanaged<Interrupts>.fromOpaque(arg!).takeRetainedValue()
            var s = sigset_t()
            sigemptyset(&s)
            for x in Interrupts.signals { sigaddset(&s, x) }
            while true {
                var got: Int32 = 0
                if sigwait(&s, &got) != 0 { continue }
                me.lock.locked {
                    if me.sig == 0 { me.sig = got }
                    _ = me.running?.sendSignal(SIGKILL)
                }
            }
        }, box.toOpaque())
        pthread_detach(tid)
    }

    /// The init of the RUN container now running (nil when it is done).
    func running(_ pid: Int32?) {
        let fd = pid.flatMap { FD.pidfd($0) }
        lock.locked {
            running = fd
            if sig != 0 { _ = fd?.sendSignal(SIGKILL) }
        }
    }

    func check() throws {
        let s = received
        if s != 0 { throw Interrupted(signal: s) }
    }
}

public struct Interrupted: Error, CustomStringConvertible {
    public var signal: Int32
    public var description: String {
        "build interrupted (\(signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "SIGHUP")): nothing was tagged, and no container is left"
    }
}
