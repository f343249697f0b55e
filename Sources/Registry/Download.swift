import OS
#if canImport(Glibc)
import Glibc
#endif

/// A plain HTTP(S) GET into a file: `import URL` and `ADD URL`.
public enum Download {
    public struct Fetched {
        /// The response's Last-Modified, as sent (ADD gives the file that time).
        public var lastModified: String?
    }

    /// The body of `url` written to `fd`; a status other than 2xx is an error naming it.
    public static func get(_ url: String, to fd: FD) throws -> Fetched {
        let r = try HTTP.request("GET", url, headers: [], out: fd.raw)
        guard (200..<300).contains(r.status) else {
            throw Failure("GET \(url): the server answered \(r.status)")
        }
        return Fetched(lastModified: r.header("last-modified"))
    }

    public static func isURL(_ s: String) -> Bool { s.hasPrefix("http://") || s.hasPrefix("https://") }
}
