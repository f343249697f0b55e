import ArgumentParser
import ImageStore
import OS

/// Where images and containers live: --root, else $SWIFTRUN_ROOT, else /var/lib/swiftrun.
struct StoreOptions: ParsableArguments {
    @Option(help: "Store root (images, containers). Default: $SWIFTRUN_ROOT or /var/lib/swiftrun.")
    var root: String = ImageStore.defaultRoot()

    func store() throws -> ImageStore { try ImageStore(root: root) }
}

/// Docker's exit codes: 125 for swiftrun's own errors.
func engine(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        stderrWrite("swiftrun: \(error)\n")
        throw ExitCode(125)
    }
}
