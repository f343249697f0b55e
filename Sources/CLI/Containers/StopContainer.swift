import ArgumentParser
import Engine
import OS

struct StopContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop containers: the stop signal, SIGKILL after the timeout.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .customLong("time")], help: "Seconds to wait before SIGKILL (default: the container's, else 10).") var time: Int?
    @Option(name: [.short, .customLong("signal")], help: "Signal to send (default: the container's stop signal).") var signal: String?
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        try containerCommand {
            let sig = try signal.map { v -> Int32 in
                guard let n = Signals.parse(v) else { throw Failure("invalid signal \(v): use a name such as TERM or a number") }
                return n
            }
            try s.eachContainer(containers) { engine, id, ref in
                try engine.stop(id, timeout: time, signal: sig)
                stdoutWrite(ref + "\n")
            }
        }
    }
}

struct RestartContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Stop (if running) and start containers.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .customLong("time")], help: "Seconds to wait before SIGKILL.") var time: Int?
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        try containerCommand {
            try s.eachContainer(containers) { engine, id, ref in
                try engine.stop(id, timeout: time)
                try engine.start(id)
                stdoutWrite(ref + "\n")
            }
        }
    }
}

struct KillContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to containers (default SIGKILL).")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .customLong("signal")], help: "Signal name or number.") var signal = "KILL"
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        try containerCommand {
            guard let sig = Signals.parse(signal) else { throw Failure("invalid signal \(signal): use a name such as TERM or a number") }
            try s.eachContainer(containers) { engine, id, ref in
                try engine.kill(id, signal: sig)
                stdoutWrite(ref + "\n")
            }
        }
    }
}

struct RemoveContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove containers (running ones only with -f).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Kill and remove a running container.") var force = false
    @Flag(name: [.short, .long], help: "Also remove the container's anonymous volumes (-v /path); named ones stay.") var volumes = false
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            try eachArgument(containers) { try engine.remove(try engine.resolve($0), force: force, volumes: volumes) }
        }
    }
}

struct WaitContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait", abstract: "Wait for containers to stop (or reach a health condition); print exit codes.")
    @OptionGroup var s: StoreOptions
    @Option(help: "not-running (default), healthy or unhealthy.") var condition = "not-running"
    @Option(help: "With --condition: give up after this long (e.g. 30s).") var timeout: String?
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        var code: Int32 = 0
        try containerCommand {
            try s.eachContainer(containers) { engine, id, _ in
                switch condition {
                case "not-running":
                    stdoutWrite("\(try engine.wait(id))\n")
                case "healthy", "unhealthy":
                    let limit = try timeout.map { t -> Int64 in
                        guard let d = GoDuration.parse(t) else { throw Failure("invalid --timeout \(t): use a duration such as 30s or 1m") }
                        return d
                    }
                    let r = try engine.waitHealth(id, HealthStatus(rawValue: condition)!, timeoutNs: limit)
                    stdoutWrite(r.message + "\n")
                    if !r.ok { code = 1 }
                default:
                    throw Failure("invalid --condition \(condition): use not-running, healthy or unhealthy")
                }
            }
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct RenameContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a container (running or not); its user networks resolve the new name.")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Container (name or ID).") var container: String
    @Argument(help: "Its new name.") var newName: String

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            try e.rename(try e.resolve(container), to: newName)
        }
    }
}
