import ArgumentParser
import Engine
import Network
import OCI
import OS
import Template
import RuncCLI

struct NetworkGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "network", abstract: "Manage bridge networks (containers on one find each other by name).",
                                                    subcommands: [NetworkCreate.self, NetworkList.self, NetworkInspect.self, NetworkRemove.self,
                                                                  NetworkConnect.self, NetworkDisconnect.self])
}

struct NetworkCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a bridge network.")
    @OptionGroup var s: StoreOptions
    @Option(help: "IPv4 subnet in CIDR form (default: a free 10.89.N.0/24).") var subnet: String?
    @Option(name: [.short, .long], help: "Driver (bridge is the only one).") var driver = "bridge"
    @Flag(help: "No outbound access: containers reach only each other.") var `internal` = false
    @Option(name: .customLong("label"), help: "KEY=VALUE metadata.") var label: [String] = []
    @Argument(help: "Network name.") var name: String

    func run() throws {
        try containerCommand {
            guard driver == "bridge" else { throw Failure("network driver \(driver) is not supported: swiftrun has bridge networks only") }
            let rec = try s.engine().networks.create(name: name, subnet: subnet, isInternal: `internal`, labels: labels(label),
                                                     now: Time.rfc3339Nano())
            stdoutWrite(rec.Id + "\n")
        }
    }
}

struct NetworkList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.", aliases: ["list"])
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Only IDs.") var quiet = false
    @Option(help: "table (default), json, a Go template, or 'table TEMPLATE'.") var format: String?

    func run() throws {
        try containerCommand {
            let nets = try s.engine().networks.list()
            let rows: [(id: String, name: String, driver: String)] = nets.map { (String($0.Id.prefix(12)), $0.Name, $0.Driver) }
                + [("host", "host", "host"), ("none", "none", "null")]
            if quiet { rows.forEach { stdoutWrite($0.id + "\n") }; return }
            let values: [JSONValue] = rows.map { r in
                .object([("CreatedAt", .string("")), ("Driver", .string(r.driver)), ("ID", .string(r.id)), ("IPv6", .string("false")),
                         ("Internal", .string("false")), ("Labels", .string("")), ("Name", .string(r.name)), ("Scope", .string("local"))])
            }
            try printRows(values, format: format, columns: [("NETWORK ID", "ID"), ("NAME", "Name"), ("DRIVER", "Driver"), ("SCOPE", "Scope")],
                          type: "*formatter.networkContext")
        }
    }
}

struct NetworkInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show networks as Docker-shaped JSON.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "A template such as '{{json .IPAM}}'.") var format: String?
    @Argument(help: "Networks (name or ID).") var networks: [String]

    struct IPAMConfig: Encodable { var Subnet: String, Gateway: String }
    struct IPAM: Encodable { var Driver = "default"; var Config: [IPAMConfig] }
    struct Endpoint: Encodable { var Name: String, IPv4Address: String, Interface: String }
    struct Out: Encodable {
        var Name: String, Id: String, Created: String, Scope = "local", Driver: String
        var IPAM: IPAM, Internal: Bool
        var Containers: [String: Endpoint]
        var Options: [String: String]
        var Labels: [String: String]
    }

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            let t = try format.map { try Template($0) }
            var values: [JSONValue] = []
            for ref in networks {
                let n = try engine.networks.get(ref)
                var eps: [String: Endpoint] = [:]
                for l in HostNetwork.endpoints(bridge: n.Bridge) where l.Root == engine.store.root {
                    eps[l.ContainerID] = Endpoint(Name: l.Name, IPv4Address: "\(l.IP)/\(l.PrefixLen)", Interface: l.Interface)
                }
                values.append(try JSON.tree(Out(Name: n.Name, Id: n.Id, Created: n.Created, Driver: n.Driver,
                                                     IPAM: IPAM(Config: [IPAMConfig(Subnet: n.Subnet, Gateway: n.Gateway)]),
                                                     Internal: n.Internal, Containers: eps,
                                                     Options: ["com.docker.network.bridge.name": n.Bridge], Labels: n.Labels)))
            }
            if let t {
                for v in values { stdoutWrite(try t.render(v) + "\n") }
            } else {
                stdoutWrite(try JSON.string(values, pretty: true) + "\n")
            }
        }
    }
}

struct NetworkRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove networks no container uses.", aliases: ["remove"])
    @OptionGroup var s: StoreOptions
    @Argument(help: "Networks (name or ID).") var networks: [String]

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            try eachArgument(networks) { ref in
                let n = try engine.networks.get(ref)
                let users = engine.list().filter { v in
                    v.container.networkMode == n.Name || (v.container.HostConfig.ConnectedNetworks ?? []).contains { $0.Name == n.Name }
                }.map { $0.container.Name }
                guard users.isEmpty else {
                    throw Failure("error while removing network: network \(n.Name) id \(n.Id.prefix(12)) is used by container(s) \(users.sorted().joined(separator: ", ")): remove them first")
                }
                try engine.networks.remove(n)
            }
        }
    }
}

struct PortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "List a container's published ports, or the host address of one.")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Container (name or ID).") var container: String
    @Argument(help: "PORT[/PROTO] to look up.") var port: String?

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            let v = try engine.view(try engine.resolve(container))
            let ports = v.state.Running ? v.state.NetworkSettings?.Ports ?? [:] : [:]
            var want: String? = nil
            if let p = port {
                guard let e = PortBinding.exposed(p) else { throw Failure("invalid port \(p): use PORT or PORT/tcp|udp") }
                want = "\(e.port)/\(e.proto)"
            }
            var found = false
            for (key, hosts) in ports.sorted(by: { $0.key < $1.key }) where want == nil || want == key {
                for h in hosts {
                    found = true
                    let addr = "\(h.HostIp.isEmpty ? "0.0.0.0" : h.HostIp):\(h.HostPort)"
                    stdoutWrite(want == nil ? "\(key) -> \(addr)\n" : addr + "\n")
                }
            }
            if let w = want, !found { throw Failure("No public port '\(w)' published for \(v.container.Name)") }
        }
    }
}

struct NetworkConnect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connect", abstract: "Connect a container to a network (now, if it runs, and at every start).")
    @OptionGroup var s: StoreOptions
    @Option(help: "Another name for the container on this network.") var alias: [String] = []
    @Argument(help: "Network.") var network: String
    @Argument(help: "Container.") var container: String

    func run() throws {
        try containerCommand { try s.engine().connect(container, network: network, aliases: alias) }
    }
}

struct NetworkDisconnect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disconnect", abstract: "Disconnect a container from a network it joined with connect.")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Network.") var network: String
    @Argument(help: "Container.") var container: String

    func run() throws {
        try containerCommand { try s.engine().disconnect(container, network: network) }
    }
}
