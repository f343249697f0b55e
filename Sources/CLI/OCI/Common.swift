import ArgumentParser
import OS
import Runtime

/// Runs a command body: errors are logged (to --log too, for conmon) and become exit codes.
func perform(_ g: GlobalOptions, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as RuntimeError {
        g.logger.error(e.description)
        throw ExitCode(e.exitCode)
    } catch {
        g.logger.error("\(error)")
        throw ExitCode(1)
    }
}

/// The OCI runtime commands, shared by `swiftrun oci` and `swiftrun-runc`.
public let ociCommands: [ParsableCommand.Type] = [
    OCICreate.self, OCIStart.self, OCIState.self, OCIKill.self, OCIDelete.self, OCIRun.self,
    OCIList.self, OCIPs.self, OCISpec.self, OCIFeatures.self, OCIPause.self, OCIResume.self, OCIExec.self,
]
