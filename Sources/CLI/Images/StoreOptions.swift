import ArgumentParser
import ImageStore
import OS

/// Where images and containers live: --root, else $SWIFTRUN_ROOT, else /var/lib/swiftrun.
package struct StoreOptions: ParsableArguments {
    @Option(help: "Store root (images, containers). Default: $SWIFTRUN_ROOT or /var/lib/swiftrun.")
    package var root: String = ImageStore.defaultRoot()

    package init() {}

    package func store() throws -> ImageStore { try ImageStore(root: root) }
}

/// The image commands fail with 1, as Docker's (containerCommand has the table).
package func engine(_ body: () throws -> Void) throws {
    try containerCommand(failure: 1, body)
}
