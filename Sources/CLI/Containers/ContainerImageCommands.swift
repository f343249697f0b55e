import ArgumentParser
import Build
import Engine
import OS
#if canImport(Glibc)
import Glibc
#endif

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "Files a container added (A), changed (C) or deleted (D).")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Container (name or ID).") var container: String

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            for c in try ContainerImage.diff(e, try e.resolve(container)) { stdoutWrite("\(c.kind) \(c.path)\n") }
        }
    }
}

struct CommitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "commit", abstract: "Create an image from a container's changes.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "Commit message.") var message: String?
    @Option(name: [.short, .long], help: "Author.") var author: String?
    @Option(name: [.short, .long], help: "A Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR); repeatable.") var change: [String] = []
    @Option(name: [.short, .long], help: "Freeze the container while its changes are read (default true).") var pause = true
    @Argument(help: "Container (name or ID).") var container: String
    @Argument(help: "REPOSITORY[:TAG]") var repository: String?

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            let id = try ContainerImage.commit(e, try e.resolve(container), name: repository, message: message, author: author,
                                               changes: change, pause: pause)
            stdoutWrite(id + "\n")
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "A container's file system as a tar archive.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "Write to this file (default: standard output).") var output: String?
    @Argument(help: "Container (name or ID).") var container: String

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            let id = try e.resolve(container)
            if let o = output {
                try Files.writeOutput(Files.absolute(o)) { try ContainerImage.export(e, id, to: $0) }
            } else {
                guard isatty(1) == 0 else { throw Failure("cowardly refusing to save to a terminal. Use the -o flag or redirect") }
                try ContainerImage.export(e, id, to: try FD(checkedDup: 1))
            }
        }
    }
}

struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cp", abstract: "Copy files between a container and the host (CONTAINER:PATH on one side).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Archive mode: keep the source's owners (uid:gid).") var archive = false
    @Flag(name: [.customShort("L"), .long], help: "Follow a symlink given as the source (inside its own root).") var followLink = false
    @Argument(help: "CONTAINER:SRC_PATH or SRC_PATH") var source: String
    @Argument(help: "CONTAINER:DEST_PATH or DEST_PATH") var destination: String

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            func side(_ arg: String) throws -> (String?, String) {
                // A path with a colon is the host's when it starts with / or . (Docker's rule).
                guard !arg.hasPrefix("/") && !arg.hasPrefix("."), let colon = arg.firstIndex(of: ":") else {
                    return (nil, Files.absolute(arg))
                }
                let path = String(arg[arg.index(after: colon)...])
                return (try e.resolve(String(arg[..<colon])), path.hasPrefix("/") ? path : "/" + path)
            }
            let from = try side(source), to = try side(destination)
            guard (from.0 == nil) != (to.0 == nil) else {
                throw Failure("copying between containers or between host paths is not supported: one side must be CONTAINER:PATH")
            }
            try ContainerImage.copy(e, from: (from.0, from.1), to: (to.0, to.1), archive: archive, followLink: followLink)
        }
    }
}
