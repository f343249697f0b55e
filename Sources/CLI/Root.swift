import ArgumentParser
import Runtime
import Engine
import ImageImport
import ImageStore
import OS
import RuncCLI
#if canImport(Glibc)
import Glibc
#endif

/// In `swiftrun --help` only: `swiftrun oci ...` goes to the runtime's own command line
/// (RuncCLI) before argument parsing.
struct OCIGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "oci", abstract: "The OCI runtime commands (as runc; see `swiftrun oci --help`).")
}

/// `swiftrun`: Docker-style commands, and the OCI runtime under `swiftrun oci`.
public struct SwiftrunRoot: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "swiftrun", abstract: "A daemonless container runtime.",
        version: swiftrunVersion, subcommands: [RunCommand.self, CreateContainer.self, StartContainer.self, StopContainer.self, RestartContainer.self,
                      KillContainer.self, RemoveContainer.self, PsCommand.self, LogsCommand.self, InspectContainer.self,
                      ExecContainer.self, WaitContainer.self, UpdateContainer.self, RenameContainer.self, StatsCommand.self, PauseContainer.self, UnpauseContainer.self, TopContainer.self, ContainerGroup.self, EventsCommand.self, HealthcheckGroup.self, PortCommand.self, NetworkGroup.self, VolumeGroup.self,
                      BuildCommand.self, BuilderGroup.self, ComposePlugin.self, DiffCommand.self, CommitCommand.self, ExportCommand.self, ImportCommand.self, CopyCommand.self, HistoryCommand.self, Load.self, Save.self, Pull.self, PushCommand.self, Login.self, Logout.self, Images.self, Tag.self, Rmi.self, ImageGroup.self, VersionCommand.self, InfoCommand.self, SystemGroup.self, OCIGroup.self, DebugGroup.self])
    public init() {}

    public static func entry() -> Never {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.first == "oci" { Runc.main(Array(args.dropFirst()), program: "swiftrun oci", usageExit: 125) }
        if args.first == "run" { args = RunCommand.splitWaitHealthy(args) }
        // compose is a plugin of its own, as Docker's is: the YAML library and the
        // Foundation it brings double this binary (50 -> 106 MB) and cost every command
        // 0.7 ms of start-up (docs/benchmarks.md).
        if args.first == "compose" { execCompose(Array(args.dropFirst())) }
        dispatch(self, args, usageExit: 125)
    }
}

/// Parses and runs; usage errors exit with `usageExit` (Docker: 125; runc: 1).
package func dispatch(_ root: ParsableCommand.Type, _ args: [String], usageExit: Int32) -> Never {
    do {
        var cmd = try root.parseAsRoot(args)
        try cmd.run()
        exit(0)
    } catch let e as ExitCode {
        exit(e.rawValue)
    } catch {
        let code = root.exitCode(for: error)
        if code == .success {
            stdoutWrite(root.fullMessage(for: error) + "\n")
            exit(0)
        }
        stderrWrite(root.fullMessage(for: error) + "\n")
        exit(code == .validationFailure ? usageExit : code.rawValue == 64 ? usageExit : code.rawValue)
    }
}

/// `swiftrun compose ...`: execs swiftrun-compose (beside swiftrun, or in libexec) with the
/// same arguments; its fds and environment are ours.
func execCompose(_ args: [String]) -> Never {
    do {
        let path = try Runtime.helperPath("swiftrun-compose", env: "SWIFTRUN_COMPOSE")
        let err = ProcessControl.execPath(path, args: ["swiftrun compose"] + args)
        stderrWrite("swiftrun: exec \(path): \(SysError.describe(err))\n")
    } catch {
        stderrWrite("swiftrun: compose: \(error)\n")
    }
    exit(125)
}

/// Help and the command list: `swiftrun compose --help` is answered by swiftrun-compose.
struct ComposePlugin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compose", abstract: "Run multi-container applications from a compose file (swiftrun-compose).")
    @Argument(parsing: .captureForPassthrough) var args: [String] = []
    func run() throws { execCompose(args) }
}
