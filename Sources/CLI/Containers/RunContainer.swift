import ArgumentParser
import Engine
import ImageStore
import OS
import Runtime

/// `swiftrun run`: for now in the foreground, removing the container when it exits.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command in a new container from an image (foreground; removed on exit).")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .customLong("env")], help: "KEY=VALUE, or KEY to pass the caller's value.") var env: [String] = []
    @Option(name: [.short, .customLong("workdir")], help: "Working directory inside the container.") var workdir: String?
    @Option(name: [.short, .long], help: "name, uid, name:group or uid:gid (from the image's files).") var user: String?
    @Option(help: "Replace the image's ENTRYPOINT (and its CMD).") var entrypoint: String?
    @Option(help: "Container hostname.") var hostname: String?
    @Flag(name: .customLong("read-only"), help: "Mount the root filesystem read-only.") var readOnly = false
    @Flag(help: "Remove the container when it exits (the default until the engine keeps stopped containers).") var rm = false
    @Argument(help: "Image name or ID.") var image: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments (replace the image's CMD).") var command: [String] = []

    func run() throws {
        var code: Int32 = 0
        do {
            let engine = Engine(store: try s.store())
            engine.warn = { stderrWrite("swiftrun: warning: \($0)\n") }
            var o = Engine.RunOptions(image: image)
            o.overrides.command = command.first == "--" ? Array(command.dropFirst()) : command
            o.overrides.env = env
            o.overrides.workdir = workdir
            o.overrides.user = user
            o.overrides.entrypoint = entrypoint
            o.hostname = hostname
            o.readOnly = readOnly
            code = try engine.run(o)
        } catch let e as RuntimeError where e.exitCode == 126 || e.exitCode == 127 {
            stderrWrite("swiftrun: \(e)\n")
            throw ExitCode(e.exitCode)
        } catch {
            stderrWrite("swiftrun: \(error)\n")
            throw ExitCode(125)
        }
        if code != 0 { throw ExitCode(code) }
    }
}
