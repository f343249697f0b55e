import Engine
import Network
import ImageStore
#if canImport(Glibc)
import Glibc
#endif

// `swiftrun-supervise ROOT ID [attach]`: one per running container, started by `swiftrun
// run/start` (never by users); `ROOT ID resume FD` when it comes back from swiftrun-idle. A binary of its own, with the engine and the store's core
// only: no argument parser, no Foundation, no libarchive in a process that lives as long
// as its container. `--linger-network`: started by the last supervisor on a bridge, to take
// it down once nobody used it for HostNetwork.lingerNanos.
let args = CommandLine.arguments
if args.count == 2 && args[1] == "--linger-network" {
    HostNetwork.lingerThenTeardown()
    exit(0)
}
guard args.count >= 3, let store = try? ImageStore(root: args[1]) else {
    let msg = "swiftrun-supervise: started by swiftrun run/start, with ROOT ID [attach]\n"
    _ = msg.withCString { write(2, $0, strlen($0)) }
    exit(125)
}
Supervisor.main(engine: Engine(store: store), id: args[2], attached: args.count > 3 && args[3] == "attach",
                resume: args.count > 4 && args[3] == "resume" ? Int32(args[4]) ?? -1 : nil)
