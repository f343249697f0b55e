import ArgumentParser
import Runtime

/// The flags `create` and `run` share.
struct CreateFlags: ParsableArguments {
    @Option(name: [.short, .long], help: "Bundle directory (holds config.json).") var bundle: String = "."
    @Option(name: .customLong("pid-file"), help: "Write the init's pid here.") var pidFile: String?
    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the pty master.") var consoleSocket: String?
    @Option(name: .customLong("preserve-fds"), help: "Pass fds 3..3+N-1 to the container.") var preserveFds: Int32 = 0
    @Option(help: "Config file to use instead of <bundle>/config.json, relative to the bundle (crun).") var config: String?
    @Flag(name: .customLong("no-pivot"), help: .hidden) var noPivot = false
    @Flag(name: .customLong("no-new-keyring"), help: .hidden) var noNewKeyring = false

    var options: Runtime.CreateOptions {
        var o = Runtime.CreateOptions(bundle: bundle)
        o.pidFile = pidFile
        o.consoleSocket = consoleSocket
        o.preserveFds = preserveFds
        o.configPath = config
        return o
    }
}
