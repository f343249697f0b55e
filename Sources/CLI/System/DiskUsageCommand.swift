import ArgumentParser
import Engine
import OS
import Template
import OCI
import RuncCLI

/// `system df`: Docker's four rows (Images, Containers, Local Volumes, Build Cache), or with
/// -v each image, container, volume and the cache's total.
struct DiskUsageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "df", abstract: "Show disk usage of images, containers, volumes and the build cache.")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Each image, container and volume.") var verbose = false
    @Option(help: "table, json, or a template such as '{{.Type}} {{.Size}}'.") var format: String?

    func run() throws {
        try engine {
            let e = try s.engine()
            let du = try e.diskUsage()
            if verbose {
                try printVerbose(du)
                return
            }
            func row(_ type: String, _ s: DiskUsage.Section, percent: Bool = true) -> JSONValue {
                var reclaim = Images.human(s.reclaimable)
                if percent && s.size > 0 { reclaim += " (\(s.reclaimable * 100 / s.size)%)" }
                return .object([("Active", .string(String(s.active))), ("Reclaimable", .string(reclaim)), ("Size", .string(Images.human(s.size))),
                                ("TotalCount", .string(String(s.total))), ("Type", .string(type))])
            }
            try printRows([row("Images", du.images), row("Containers", du.containers), row("Local Volumes", du.volumes),
                           row("Build Cache", du.buildCache, percent: false)],
                          format: format,
                          columns: [("TYPE", "Type"), ("TOTAL", "TotalCount"), ("ACTIVE", "Active"), ("SIZE", "Size"), ("RECLAIMABLE", "Reclaimable")],
                          type: "*formatter.diskUsageContext")
        }
    }

    func printVerbose(_ du: DiskUsage) throws {
        guard format == nil || format == "table" else { throw Failure("--format cannot be combined with --verbose") }
        let now = Time.nowNanos()
        var images: [[String]] = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]]
        for u in du.imageRows {
            let created = u.image.created.flatMap { JSONLogReader.parseTime($0) }.map { DockerWords.humanDuration(now - $0) + " ago" } ?? "N/A"
            for n in u.image.names.isEmpty ? ["<none>:<none>"] : u.image.names {
                let colon = n.lastIndex(of: ":").flatMap { n[$0...].contains("/") ? nil : $0 }
                images.append([colon.map { String(n[..<$0]) } ?? n, colon.map { String(n[n.index(after: $0)...]) } ?? "<none>",
                               String(u.image.id.dropFirst(7).prefix(12)), created, Images.human(u.image.size),
                               Images.human(u.image.size - u.unique), Images.human(u.unique), String(u.containers)])
            }
        }
        var containers: [[String]] = [["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]]
        for u in du.containerRows {
            let c = u.view.container
            containers.append([String(c.Id.prefix(12)), c.Image, DockerWords.command(c.Path, c.Args, truncate: true),
                               String((c.HostConfig.Mounts ?? []).filter { $0.Type == "volume" }.count), Images.human(u.size),
                               DockerWords.humanDuration(now - c.CreatedNs) + " ago", DockerWords.status(u.view.state, nowNs: now), c.Name])
        }
        var volumes: [[String]] = [["VOLUME NAME", "LINKS", "SIZE"]]
        for u in du.volumeRows { volumes.append([u.volume.Name, String(u.links), Images.human(u.size)]) }
        stdoutWrite("Images space usage:\n\n" + Table.render(images) + "\nContainers space usage:\n\n" + Table.render(containers)
                    + "\nLocal Volumes space usage:\n\n" + Table.render(volumes)
                    + "\nBuild cache usage: \(Images.human(du.buildCache.size)) (\(du.buildCache.total) entries)\n")
    }
}
