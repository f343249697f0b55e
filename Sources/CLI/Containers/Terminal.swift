import CShim
import OS
#if canImport(Glibc)
import Glibc
#endif

/// The user's terminal while a container's pty (-t) is attached.
enum Terminal {
    /// Rows and columns of our terminal (stdin, else stdout), if we have one.
    static func size() -> (rows: UInt16, cols: UInt16)? {
        for fd: Int32 in [0, 1] {
            var r: UInt16 = 0, c: UInt16 = 0
            if sr_winsize_get(fd, &r, &c) == 0 && r > 0 && c > 0 { return (r, c) }
        }
        return nil
    }

    /// -it: raw mode, so ^C, ^Z and ^D go to the container's pty (which turns them into
    /// signals and EOF for its process) instead of to us. `restore` undoes it.
    static func makeRaw() {
        if isatty(0) == 1 { _ = sr_tty_raw(0) }
    }

    static func restore() { sr_tty_restore() }

    /// Copies our stdin into the master and the master to our stdout until the pty's last
    /// process is gone (the master then reads EIO). For `exec -t`, where no supervisor does it.
    static func relay(master: Int32, input: Bool) {
        var inOpen = input
        var buf = [UInt8](repeating: 0, count: 32 * 1024)
        func writeAll(_ fd: Int32, _ n: Int) -> Bool {
            var off = 0
            while off < n {
                let w = buf.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, n - off) }
                if w < 0 { if errno == EINTR { continue }; return false }
                off += w
            }
            return true
        }
        while true {
            var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0), pollfd(fd: inOpen ? 0 : -1, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; return }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                _ = writeAll(1, n)
            }
            if fds[1].revents != 0 {
                let n = buf.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
                if n <= 0 { inOpen = false } else if !writeAll(master, n) { inOpen = false }
            }
        }
    }
}
