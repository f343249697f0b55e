import ArgumentParser
import Engine
import OS

struct PauseContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Freeze every process of containers (cgroup freezer).")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            try eachArgument(containers) { try e.pause(try e.resolve($0), true) }
        }
    }
}

struct UnpauseContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpause", abstract: "Thaw paused containers.")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            try eachArgument(containers) { try e.pause(try e.resolve($0), false) }
        }
    }
}
