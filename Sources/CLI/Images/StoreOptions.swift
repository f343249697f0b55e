import ArgumentParser
import ImageStore
import OS

/// Where images and containers live: --root, else $SWIFTRUN_ROOT, else /var/lib/swiftrun.
struct StoreOptions: ParsableArguments {
    @Option(help: "Store root (images, containers). Default: $SWIFTRUN_ROOT or /var/lib/swiftrun.")
    var root: String = ImageStore.defaultRoot()

    func store() throws -> ImageStore { try ImageStore(root: root) }
}

/// The image commands fail with 1, as Docker's (containerCommand has the table).
func engine(_ body: () throws -> Void) throws {
    try containerCommand(failure: 1, body)
}
