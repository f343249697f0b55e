import ArgumentParser
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
                      BuildCommand.self, BuilderGroup.self, ComposeGroup.self, DiffCommand.self, CommitCommand.self, ExportCommand.self, HistoryCommand.self, Load.self, Save.self, Pull.self, PushCommand.self, Login.self, Logout.self, Images.self, Tag.self, Rmi.self, ImageGroup.self, VersionCommand.self, InfoCommand.self, SystemGroup.self, OCIGroup.self, DebugGroup.self])
    public init() {}

    public static func entry() -> Never {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.first == "oci" { Runc.main(Array(args.dropFirst()), program: "swiftrun oci", usageExit: 125) }
        if args.first == "run" { args = RunCommand.splitWaitHealthy(args) }
        if args.first == "compose" { args = ["compose"] + ComposeGroup.reorder(Array(args.dropFirst())) }
        dispatch(self, args, usageExit: 125)
    }
}

/// Parses and runs; usage errors exit with `usageExit` (Docker: 125; runc: 1).
func dispatch(_ root: ParsableCommand.Type, _ args: [String], usageExit: Int32) -> Never {
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
