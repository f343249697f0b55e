#if canImport(Glibc)
import Glibc
#endif

/// Whole strings to stdout and stderr with write(2): no stdio buffers to flush before
/// an exit() or an exec.
public func stdoutWrite(_ s: String) {
    _ = s.withCString { write(1, $0, strlen($0)) }
}

public func stderrWrite(_ s: String) {
    _ = s.withCString { write(2, $0, strlen($0)) }
}
