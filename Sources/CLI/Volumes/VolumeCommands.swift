import ArgumentParser
import Engine
import OCI
import OS
import Template
import RuncCLI

struct VolumeGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "volume", abstract: "Manage volumes (directories under the store that outlive containers).",
                                                    subcommands: [VolumeCreate.self, VolumeList.self, VolumeInspect.self, VolumeRemove.self, VolumePrune.self])
}

struct VolumeCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume (a name is generated if none is given).")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "Driver (local is the only one).") var driver = "local"
    @Option(name: .customLong("label"), help: "KEY=VALUE metadata.") var label: [String] = []
    @Argument(help: "Volume name.") var name: String?

    func run() throws {
        try containerCommand {
            guard driver == "local" else { throw Failure("volume driver \(driver) is not supported: swiftrun has local volumes only") }
            let (v, _) = try s.engine().createVolume(name, labels: labels(label))
            stdoutWrite(v.Name + "\n")
        }
    }
}

struct VolumeList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes.", aliases: ["list"])
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Only names.") var quiet = false
    @Option(help: "table (default), json, a Go template, or 'table TEMPLATE'.") var format: String?

    func run() throws {
        try containerCommand {
            let vols = try s.engine().volumes()
            if quiet { vols.forEach { stdoutWrite($0.Name + "\n") }; return }
            let rows: [JSONValue] = vols.map { v in
                .object([("Driver", .string(v.Driver)), ("Labels", .string("")), ("Links", .string("N/A")), ("Mountpoint", .string(v.Mountpoint)),
                         ("Name", .string(v.Name)), ("Scope", .string(v.Scope)), ("Size", .string("N/A"))])
            }
            try printRows(rows, format: format, columns: [("DRIVER", "Driver"), ("VOLUME NAME", "Name")], type: "*formatter.volumeContext")
        }
    }
}

struct VolumeInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show volumes as Docker-shaped JSON.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "A template such as '{{.Mountpoint}}'.") var format: String?
    @Argument(help: "Volume names.") var volumes: [String]

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            let values = try volumes.map { try JSON.tree(try e.volume($0)) }
            if let f = format {
                let t = try Template(f)
                for v in values { stdoutWrite(try t.render(v) + "\n") }
            } else {
                stdoutWrite(try JSON.string(values, pretty: true) + "\n")
            }
        }
    }
}

struct VolumeRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove volumes (not while a container uses them).", aliases: ["remove"])
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Remove even while containers name it.") var force = false
    @Argument(help: "Volume names.") var volumes: [String]

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            try eachArgument(volumes) { try e.removeVolume($0, force: force) }
        }
    }
}

struct VolumePrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused anonymous volumes (all unused ones with -a).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Also named volumes no container uses.") var all = false
    @Flag(name: [.short, .long], help: "Do not ask (swiftrun never asks).") var force = false

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            var freed: [String] = []
            for v in e.volumes() where (all || v.Anonymous == true) && e.volumeUsers(v.Name).isEmpty {
                if (try? e.removeVolume(v.Name)) != nil { freed.append(v.Name) }
            }
            stdoutWrite(freed.isEmpty ? "" : "Deleted Volumes:\n" + freed.map { $0 + "\n" }.joined())
        }
    }
}
