import ArgumentParser
import Runtime

struct OCIPause: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Freeze every process of a container (cgroup.freeze).")
    @OptionGroup var g: GlobalOptions
    @Argument var id: String
    func run() throws { try perform(g) { try g.runtime.pause(id, true) } }
}

struct OCIResume: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Thaw a paused container.")
    @OptionGroup var g: GlobalOptions
    @Argument var id: String
    func run() throws { try perform(g) { try g.runtime.pause(id, false) } }
}
