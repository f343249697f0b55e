import ArgumentParser
import ImageStore
import OS
import Registry
#if canImport(Glibc)
import Glibc
#endif

struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull an image from a registry (Docker Hub when no registry is named).")
    @OptionGroup var s: StoreOptions
    @Option(help: "os/arch[/variant] to pick from a multi-platform image.") var platform = "linux/amd64"
    @Option(name: .customLong("tls-verify"), help: "Check the registry's TLS certificate (false also allows plain HTTP).") var tlsVerify = true
    @Flag(name: [.short, .long], help: "No progress output.") var quiet = false
    @Argument(help: "NAME[:TAG] or NAME@sha256:DIGEST (redis = docker.io/library/redis:latest).") var reference: String

    func run() throws {
        try containerCommand {
            let store = try s.store()
            let ui = PullProgress(tty: isatty(1) == 1, quiet: quiet)
            let r = try Puller.pull(reference, store: store, platform: platform, tlsVerify: tlsVerify) { ui.show($0) }
            let full = try Reference.parse(reference).description
            if quiet { stdoutWrite(full + "\n"); return }
            stdoutWrite("Digest: \(r.digest)\n")
            stdoutWrite(r.fresh ? "Status: Downloaded newer image for \(r.name)\n" : "Status: Image is up to date for \(r.name)\n")
            stdoutWrite(full + "\n")
        }
    }
}

/// Docker's pull output: a line per layer; on a terminal the layer being downloaded shows
/// bytes and rate, redrawn in place.
package final class PullProgress {
    let tty: Bool, quiet: Bool
    let write: (String) -> Void
    var live: String?
    var started: [String: Int64] = [:]
    var lastDraw: Int64 = 0

    package init(tty: Bool, quiet: Bool, fd: Int32 = 1) {
        self.tty = tty
        self.quiet = quiet
        write = fd == 2 ? { stderrWrite($0) } : { stdoutWrite($0) }
    }

    package func show(_ e: PullEvent) {
        if quiet { return }
        switch e {
        case .resolved(let s): write(s + "\n")
        case .layer(let id, let status):
            write((live == id && tty ? "\r\u{1B}[K" : "") + "\(id): \(status)\n")
            if live == id { live = nil }
        case .progress(let id, let now, let total):
            guard tty else { return }
            let t = Time.monotonicNanos()
            if started[id] == nil { started[id] = t }
            if live == id && t - lastDraw < 100_000_000 && now < total { return }
            lastDraw = t
            live = id
            let secs = Double(max(1, t - started[id]!)) / 1e9
            let width = 40
            let done = total > 0 ? min(width, Int(Double(now) / Double(total) * Double(width))) : 0
            let bar = "[" + String(repeating: "=", count: max(0, done - 1)) + (done > 0 ? ">" : "") + String(repeating: " ", count: width - done) + "]"
            write("\r\u{1B}[K\(id): Downloading \(bar) \(Self.size(now))/\(Self.size(total)) \(Self.size(Int64(Double(now) / secs)))/s")
        }
    }

    /// Docker's HumanSize: 1.23MB.
    static func size(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(n), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        let r = (v * 100).rounded() / 100
        return (r == r.rounded() ? String(Int(r)) : String(r)) + units[i]
    }
}

struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login", abstract: "Keep credentials for a registry (checked against it first).")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "User name.") var username: String?
    @Option(name: [.short, .long], help: "Password (prefer --password-stdin: a flag shows in ps).") var password: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false
    @Option(name: .customLong("tls-verify"), help: "Check the registry's TLS certificate.") var tlsVerify = true
    @Argument(help: "Registry (default docker.io).") var server = "docker.io"

    func run() throws {
        try containerCommand {
            guard let user = username, !user.isEmpty else { throw Failure("login needs --username (swiftrun does not prompt)") }
            var pass = password
            if passwordStdin {
                guard password == nil else { throw Failure("--password and --password-stdin are mutually exclusive") }
                let bytes = try FD(0).readToEnd()
                pass = String(decoding: bytes, as: UTF8.self).trimmed()
            }
            guard let pass, !pass.isEmpty else { throw Failure("login needs a password: --password-stdin (or --password)") }
            if password != nil { stderrWrite("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n") }
            let domain = try Reference.parse(server + "/x").domain
            try Puller.login(domain: domain, user: user, password: pass, root: try s.store().root, tlsVerify: tlsVerify)
            stdoutWrite("Login Succeeded\n")
        }
    }
}

struct Logout: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Forget the credentials for a registry.")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Registry (default docker.io).") var server = "docker.io"

    func run() throws {
        try containerCommand {
            let domain = try Reference.parse(server + "/x").domain
            if try AuthFile.remove(domain: domain, root: try s.store().root) {
                stdoutWrite("Removing login credentials for \(domain)\n")
            } else {
                stdoutWrite("Not logged in to \(domain)\n")
            }
        }
    }
}
