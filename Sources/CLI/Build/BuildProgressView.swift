import Build
import OS
#if canImport(Glibc)
import Glibc
#endif

/// `build --progress tty` (the default on a terminal): BuildKit's live view, redrawn in
/// place on each event: the elapsed time and steps done, each step with CACHED or its time,
/// and the running step's last lines under it.
final class BuildProgressView {
    struct Step {
        var n: Int
        var title: String
        var cached = false
        var startNs: Int64
        var endNs: Int64?
        var lines: [String] = []
    }
    var steps: [Step] = []
    var drawn = 0
    let startNs = Time.monotonicNanos()
    let write: (String) -> Void
    var finished = false

    let lock = Lock()
    var ticking = false
    var ticker = pthread_t()

    init(write: @escaping (String) -> Void = { stderrWrite($0) }) { self.write = write }

    /// Redraws every 200 ms between events, so a silent step's time still moves.
    func start() {
        ticking = true
        let arg = Unmanaged.passRetained(self).toOpaque()
        if pthread_create(&ticker, nil, { arg in
            let view = Unmanaged<BuildProgressView>.fromOpaque(arg!).takeRetainedValue()
            while view.lock.locked({ view.ticking }) {
                usleep(200_000)
                view.lock.locked { if view.ticking && view.drawn > 0 && !view.finished { view.draw(Time.monotonicNanos()) } }
            }
            return nil
        }, arg) != 0 {
            Unmanaged<BuildProgressView>.fromOpaque(arg).release()
            ticking = false
        }
    }

    /// Ends the ticker (the build ended, or failed: its error then prints below the view).
    func stop() {
        let was = lock.locked { () -> Bool in let w = ticking; ticking = false; return w }
        if was { pthread_join(ticker, nil) }
    }

    func handle(_ e: BuildEvent) {
        lock.locked { apply(e) }
    }

    private func apply(_ e: BuildEvent) {
        let now = Time.monotonicNanos()
        switch e {
        case .step(let n, let text):
            if let i = steps.lastIndex(where: { $0.endNs == nil }) { steps[i].endNs = now }
            steps.append(Step(n: n, title: text, startNs: now))
        case .cached(let n):
            if let i = steps.lastIndex(where: { $0.n == n }) { steps[i].cached = true; steps[i].endNs = now }
        case .output(let n, let line, _):
            if let i = steps.lastIndex(where: { $0.n == n }) {
                steps[i].lines.append(line)
                if steps[i].lines.count > 6 { steps[i].lines.removeFirst() }
            }
        case .note(let n, let text):
            if !steps.contains(where: { $0.n == n }) { steps.append(Step(n: n, title: text, startNs: now)) }
        case .finished:
            for i in steps.indices where steps[i].endNs == nil { steps[i].endNs = now }
            finished = true
        }
        draw(now)
    }

    func draw(_ now: Int64) {
        let cols = Int(Terminal.size()?.cols ?? 80).clamped(40, 400)
        let rows = Int(Terminal.size()?.rows ?? 24).clamped(10, 200)
        func secs(_ ns: Int64) -> String {
            let t = Double(ns) / 1e9
            return String(Int(t)) + "." + String(Int((t - Double(Int(t))) * 10)) + "s"
        }
        func fit(_ left: String, _ right: String) -> String {
            let room = cols - 1 - right.count - 1
            let l = left.count > room ? String(left.prefix(max(0, room - 1))) + "…" : left
            return l + String(repeating: " ", count: max(1, cols - 1 - l.count - right.count)) + right
        }
        let done = steps.filter { $0.endNs != nil }.count
        var out = ["[+] Building \(secs(now - startNs)) (\(done)/\(steps.count))\(finished ? " FINISHED" : "")"]
        for s in steps {
            out.append(fit(" => \(s.cached ? "CACHED " : "")\(s.title)", secs((s.endNs ?? now) - s.startNs)))
            if s.endNs == nil { out += s.lines.map { fit(" => => # " + $0, "") } }
        }
        if out.count > rows - 1 { out = [out[0]] + out.suffix(rows - 2) }
        // Up to where the last frame began, then each line cleared and written again.
        var frame = drawn > 0 ? "\u{1b}[\(drawn)A" : ""
        for l in out { frame += "\r\u{1b}[2K" + l + "\n" }
        if out.count < drawn { frame += String(repeating: "\r\u{1b}[2K\n", count: drawn - out.count) + "\u{1b}[\(drawn - out.count)A" }
        drawn = out.count
        write(frame)
    }
}

extension Int {
    func clamped(_ lo: Int, _ hi: Int) -> Int { Swift.min(hi, Swift.max(lo, self)) }
}
