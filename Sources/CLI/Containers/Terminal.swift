import OS
#if canImport(Glibc)
import Glibc
#endif

/// The user's terminal while a container's pty (-t) is attached.
enum Terminal {
    /// Rows and columns of our terminal (stdin, else stdout), if we have one.
    static func size() -> (rows: UInt16, cols: UInt16)? {
        TTY.size(0) ?? TTY.size(1)
    }

    /// -it: raw mode, so ^C, ^Z and ^D go to the container's pty (which turns them into
    /// signals and EOF for its process) instead of to us. `restore` undoes it.
    static func makeRaw() {
        if isatty(0) == 1 { TTY.makeRaw(0) }
    }

    static func restore() { TTY.restore() }
}
