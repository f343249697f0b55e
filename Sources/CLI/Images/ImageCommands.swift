import ArgumentParser
import ImageImport
import ImageStore
import OCI
import OS
import Template

/// `swiftrun image inspect|tag|rm|ls`, and the top-level `tag` and `rmi`.
struct ImageGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "image", abstract: "Manage images.",
                                                    subcommands: [ImageInspect.self, Tag.self, Rmi.self, Images.self, Load.self, Save.self, ImportCommand.self, Pull.self, ImagePrune.self])
}

struct ImageInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show images as Docker-shaped JSON.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "A template such as '{{.Id}}' or '{{json .Config.Healthcheck}}'.") var format: String?
    @Argument(help: "Image names or IDs.") var images: [String]

    /// The fields of `docker image inspect` that the store knows.
    struct Inspect: Encodable {
        var Id: String
        var RepoTags: [String]
        var Created: String?
        var Author: String?
        var Config: ImageConfig.ContainerConfig?
        var Architecture: String?
        var Os: String?
        var Variant: String?
        var Size: Int64
        var RootFS: RootFS
        struct RootFS: Encodable { var `Type`: String; var Layers: [String] }
    }

    func run() throws {
        try engine {
            let store = try s.store()
            var out: [Inspect] = []
            var missing: [String] = []
            for ref in images {
                guard let img = try? store.find(ref) else { missing.append(ref); continue }
                let c = try JSON.decode(ImageConfig.self, from: try store.readBlob(img.id), what: "image config \(img.id)")
                out.append(Inspect(Id: img.id, RepoTags: img.names, Created: c.created, Author: c.author, Config: c.config,
                                   Architecture: c.architecture, Os: c.os, Variant: c.variant, Size: img.size,
                                   RootFS: .init(Type: c.rootfs.type, Layers: c.rootfs.diff_ids)))
            }
            if let f = format {
                let t = try Template(f)
                for i in out { stdoutWrite(try t.render(try JSON.tree(i)) + "\n") }
            } else {
                stdoutWrite(try JSON.string(out, pretty: true) + "\n")
            }
            if !missing.isEmpty { throw Failure("no such image: \(missing.joined(separator: ", "))") }
        }
    }
}

struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image another name.")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Image name or ID.") var source: String
    @Argument(help: "New name (repo[:tag]).") var target: String
    func run() throws { try engine { try s.store().tag(source, as: target) } }
}

struct Rmi: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove image names; an image with none left is deleted with its unused layers.")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Untag even an image containers use (its layers stay while they need them).") var force = false
    @Argument(help: "Image names or IDs.") var images: [String]
    func run() throws {
        try engine {
            let e = try s.engine()
            let users: (String) -> [String] = { id in e.list().filter { $0.container.ImageID == id }.map(\.container.Id) }
            for ref in images { try e.store.remove(ref, force: force, users: users).forEach { stdoutWrite($0 + "\n") } }
        }
    }
}
