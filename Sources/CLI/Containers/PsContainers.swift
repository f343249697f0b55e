import ArgumentParser
import Engine
import OCI
import OS
import Template
import RuncCLI

struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers (running ones unless -a).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "All containers, not only running ones.") var all = false
    @Flag(name: [.short, .long], help: "Only IDs.") var quiet = false
    @Option(name: [.customShort("n"), .customLong("last")], help: "The n last created containers (all states).") var last: Int = -1
    @Flag(name: [.short, .long], help: "The latest created container (all states).") var latest = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate IDs and commands.") var noTrunc = false
    @Option(name: [.short, .long], help: "name=, id=, status=, health=, label=KEY[=VALUE]") var filter: [String] = []
    @Option(help: "table, json, or a template such as '{{.Names}} {{.Status}}'.") var format: String?

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            let now = Time.nowNanos()
            var views = engine.list()
            let n = latest ? 1 : last
            if n >= 0 { views = Array(views.prefix(n)) }
            else if !all { views = views.filter { $0.state.Running || $0.state.Restarting || $0.state.Paused } }
            for f in filter {
                let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count >= 1 else { continue }
                let key = kv[0], value = kv.count > 1 ? kv[1] : ""
                switch key {
                case "name": views = views.filter { $0.container.Name.contains(value) }
                case "id": views = views.filter { $0.container.Id.hasPrefix(value) }
                case "status":
                    guard let want = ContainerStatus(rawValue: value) else {
                        throw Failure("invalid filter 'status=\(value)': use one of created, restarting, running, removing, paused, exited, dead")
                    }
                    views = views.filter { $0.state.Status == want }
                case "health":
                    let ok = ["starting", "healthy", "unhealthy", "none"]
                    guard ok.contains(value) else { throw Failure("invalid filter 'health=\(value)': use one of \(ok.joined(separator: ", "))") }
                    views = views.filter { ($0.state.Running ? $0.state.Health?.Status.rawValue : nil) ?? "none" == value }
                case "label":
                    let l = value.split(separator: "=", maxSplits: 1).map(String.init)
                    views = views.filter { v in
                        guard let have = v.container.Config.Labels[l[0]] else { return false }
                        return l.count == 1 || have == l[1]
                    }
                default:
                    throw Failure("invalid filter '\(key)': use name, id, status, health or label")
                }
            }
            if quiet {
                views.forEach { stdoutWrite((noTrunc ? $0.container.Id : String($0.container.Id.prefix(12))) + "\n") }
                return
            }
            try printRows(views.map { row($0, now: now) }, format: format,
                          columns: [("CONTAINER ID", "ID"), ("IMAGE", "Image"), ("COMMAND", "Command"), ("CREATED", "RunningFor"),
                                    ("STATUS", "Status"), ("PORTS", "Ports"), ("NAMES", "Names")],
                          type: "*formatter.ContainerContext", headers: ["CreatedAt": "CREATED AT"])
        }
    }

    func row(_ v: ContainerView, now: Int64) -> JSONValue {
        let c = v.container
        let labels = c.Config.Labels.keys.sorted().map { "\($0)=\(c.Config.Labels[$0]!)" }.joined(separator: ",")
        return .object([
            ("Command", .string(DockerWords.command(c.Path, c.Args, truncate: !noTrunc))),
            ("CreatedAt", .string(c.Created)),
            ("ID", .string(noTrunc ? c.Id : String(c.Id.prefix(12)))),
            ("Image", .string(c.Image)),
            ("Labels", .string(labels)),
            ("Mounts", .string((c.HostConfig.Mounts ?? []).filter { $0.Type != "tmpfs" }.map {
                $0.Type == "volume" && !noTrunc && $0.Anonymous == true ? String($0.Source.prefix(12)) : $0.Source }.joined(separator: ","))),
            ("Names", .string(c.Name)),
            ("Networks", .string(c.networkMode.hasPrefix("container:") ? "" : c.networkMode)),
            ("Ports", .string(v.state.Running ? v.state.NetworkSettings?.portsColumn ?? "" : "")),
            ("RunningFor", .string(DockerWords.humanDuration(now - c.CreatedNs) + " ago")),
            ("State", .string(v.state.Status.rawValue)),
            ("Status", .string(DockerWords.status(v.state, nowNs: now))),
        ])
    }
}
