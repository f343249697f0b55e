#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex (the code stays off Foundation and Dispatch).
public final class Lock: @unchecked Sendable {
    private var m = pthread_mutex_t()

    public init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }

    public func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
}

/// Runs `body(0..<count)` on up to `width` threads and waits for all of them. After the
/// first error no new index is started; that error is rethrown.
public func parallelForEach(_ count: Int, width: Int, _ body: @escaping (Int) throws -> Void) throws {
    let work = ParallelWork(count, body)
    let n = max(1, min(width, count))
    var threads: [pthread_t] = []
    for _ in 1..<max(n, 1) {
        var tid = pthread_t()
        let arg = Unmanaged.passRetained(work).toOpaque()
        if pthread_create(&tid, nil, { arg in
            Unmanaged<ParallelWork>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, arg) == 0 {
            threads.append(tid)
        } else {
            Unmanaged<ParallelWork>.fromOpaque(arg).release()
        }
    }
    work.run() // this thread is one of the workers
    for t in threads { pthread_join(t, nil) }
    if let e = work.failure { throw e }
}

private final class ParallelWork: @unchecked Sendable {
    let lock = Lock()
    var next = 0
    var failure: Error?
    let count: Int
    let body: (Int) throws -> Void
    init(_ count: Int, _ body: @escaping (Int) throws -> Void) { self.count = count; self.body = body }

    func run() {
        while true {
            let i: Int? = lock.locked {
                guard failure == nil, next < count else { return nil }
                defer { next += 1 }
                return next
            }
            guard let i else { return }
            do { try body(i) } catch { lock.locked { if failure == nil { failure = error } } }
        }
    }
}
