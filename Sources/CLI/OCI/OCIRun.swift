import ArgumentParser
import Runtime

struct OCIRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Create and start a container; wait for it unless --detach.")
    @OptionGroup var g: GlobalOptions
    @Option(name: [.short, .long]) var bundle: String = "."
    @Option(name: .customLong("pid-file")) var pidFile: String?
    @Option(name: .customLong("console-socket")) var consoleSocket: String?
    @Option(name: .customLong("preserve-fds")) var preserveFds: Int32 = 0
    @Option(help: "Config file (crun).") var config: String?
    @Flag(name: [.short, .long], help: "Return once started.") var detach = false
    @Flag(help: "Keep the container's state after it exits.") var keep = false
    @Flag(name: .customLong("no-pivot"), help: .hidden) var noPivot = false
    @Flag(name: .customLong("no-new-keyring"), help: .hidden) var noNewKeyring = false
    @Argument var id: String

    func run() throws {
        var code: Int32 = 0
        try perform(g) {
            var o = Runtime.CreateOptions(bundle: bundle)
            o.pidFile = pidFile
            o.consoleSocket = consoleSocket
            o.preserveFds = preserveFds
            o.configPath = config
            code = try g.runtime.run(id: id, options: o, detach: detach, keep: keep)
        }
        if code != 0 { throw ExitCode(code) }
    }
}
