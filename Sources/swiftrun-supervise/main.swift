import Engine
import ImageStore
#if canImport(Glibc)
import Glibc
#endif

// `swiftrun-supervise ROOT ID [attach]`: one per running container, started by `swiftrun
// run/start` (never by users). A binary of its own, with the engine and the store's core
// only: no argument parser, no Foundation, no libarchive in a process that lives as long
// as its container.
let args = CommandLine.arguments
guard args.count >= 3, let store = try? ImageStore(root: args[1]) else {
    let msg = "swiftrun-supervise: started by swiftrun run/start, with ROOT ID [attach]\n"
    _ = msg.withCString { write(2, $0, strlen($0)) }
    exit(125)
}
Supervisor.main(engine: Engine(store: store), id: args[2], attached: args.count > 3 && args[3] == "attach")
