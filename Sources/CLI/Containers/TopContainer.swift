import ArgumentParser
import Engine
import OS

/// Docker's `top`: the host's `ps` (default -ef), only the rows of the container's processes.
struct TopContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "Show the processes of a container (host pids, as ps sees them).")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Container (name or ID).") var container: String
    @Argument(parsing: .captureForPassthrough, help: "ps options (default -ef).") var psArgs: [String] = []

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            stdoutWrite(try ContainerTop.table(e, id: try e.resolve(container), psArgs: psArgs))
        }
    }
}

package enum ContainerTop {
    /// The host's ps rows of one running container's processes (`compose top` too).
    package static func table(_ e: Engine, id: String, psArgs: [String] = []) throws -> String {
        let v = try e.view(id)
        guard v.state.Running else { throw Failure("container \(v.container.Name) is not running") }
        let pids = Set(try e.runtime.processes(id))
        let args = psArgs.isEmpty ? ["-ef"] : psArgs
        guard let ps = ["/usr/bin/ps", "/bin/ps"].first(where: { Files.exists($0) }) else {
            throw Failure("top needs ps on the host (apt-get install procps)")
        }
        // Only the container's pids (-q, as moby does), then filtered by the PID column too.
        let list = pids.sorted().map(String.init).joined(separator: ",")
        var r = try Subprocess.run(ps, args: ["ps"] + args + ["-q", list], env: ["PATH=/usr/bin:/bin", "LC_ALL=C"], captureOutput: true)
        if r.status != 0 { r = try Subprocess.run(ps, args: ["ps"] + args, env: ["PATH=/usr/bin:/bin", "LC_ALL=C"], captureOutput: true) }
        let lines = String(decoding: r.output, as: UTF8.self).split(separator: "\n").map(String.init)
        guard r.status == 0, let header = lines.first else {
            throw Failure("ps \(args.joined(separator: " ")) failed: \(lines.joined(separator: " "))")
        }
        guard let col = header.split(separator: " ").firstIndex(of: "PID") else {
            throw Failure("ps \(args.joined(separator: " ")): no PID column in its output")
        }
        var out = header + "\n"
        for l in lines.dropFirst() {
            let f = l.split(separator: " ")
            if col < f.count, let p = Int32(f[col]), pids.contains(p) { out += l + "\n" }
        }
        return out
    }
}

struct ContainerGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "container", abstract: "Manage containers.",
                                                    subcommands: [PruneContainers.self, PsCommand.self, InspectContainer.self])
}

struct PruneContainers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove every stopped container (its volumes stay, as Docker's).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Do not ask (swiftrun never asks).") var force = false
    @Option(help: "label=KEY[=VALUE] or until=DURATION (only older ones).") var filter: [String] = []

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            let now = Time.nowNanos()
            e.sweepHalfMade()
            var removed: [String] = []
            for v in e.list() where !v.state.Running && !v.state.Restarting && !v.state.Paused && !Engine.supervisorAlive(v.state) {
                var keep = false
                for f in filter {
                    let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
                    switch kv[0] {
                    case "until":
                        guard kv.count == 2, let d = GoDuration.parse(kv[1]) else { throw Failure("invalid filter '\(f)': until=DURATION (e.g. 24h)") }
                        if now - v.container.CreatedNs < d { keep = true }
                    case "label":
                        let l = kv.count > 1 ? kv[1].split(separator: "=", maxSplits: 1).map(String.init) : []
                        guard let k = l.first else { throw Failure("invalid filter '\(f)': label=KEY[=VALUE]") }
                        if v.container.Config.Labels[k] == nil || (l.count == 2 && v.container.Config.Labels[k] != l[1]) { keep = true }
                    default: throw Failure("invalid filter '\(kv[0])': use until= or label=")
                    }
                }
                if keep { continue }
                if (try? e.remove(v.container.Id, force: false)) != nil { removed.append(v.container.Id) }
            }
            stdoutWrite(removed.isEmpty ? "Total reclaimed space: 0B\n" : "Deleted Containers:\n" + removed.map { $0 + "\n" }.joined() + "\n")
        }
    }
}
