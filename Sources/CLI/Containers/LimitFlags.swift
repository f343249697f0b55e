import ArgumentParser
import Engine
import OS

/// Docker's resource flags, shared by run, create and update (cgroup v2).
struct LimitFlags: ParsableArguments {
    @Option(name: [.short, .customLong("memory")], parsing: .unconditional, help: "Memory limit (e.g. 512m, 1g; at least 6m).") var memory: String?
    @Option(name: .customLong("memory-swap"), parsing: .unconditional, help: "Memory plus swap (-1: unlimited swap; default: twice --memory).") var memorySwap: String?
    @Option(name: .customLong("memory-reservation"), parsing: .unconditional, help: "Soft limit (memory.low).") var memoryReservation: String?
    @Option(parsing: .unconditional, help: "Number of CPUs (e.g. 0.5, 1.5): a CFS quota per 100 ms.") var cpus: String?
    @Option(name: [.customShort("c"), .customLong("cpu-shares")], parsing: .unconditional, help: "Relative CPU weight (Docker's 1024 scale, as cpu.weight).") var cpuShares: Int64?
    @Option(name: .customLong("cpu-period"), parsing: .unconditional, help: "CFS period in microseconds.") var cpuPeriod: Int64?
    @Option(name: .customLong("cpu-quota"), parsing: .unconditional, help: "CFS quota in microseconds.") var cpuQuota: Int64?
    @Option(name: .customLong("cpuset-cpus"), parsing: .unconditional, help: "CPUs allowed (0-2,4).") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), parsing: .unconditional, help: "Memory nodes allowed (0-1).") var cpusetMems: String?
    @Option(name: .customLong("pids-limit"), parsing: .unconditional, help: "Maximum number of processes (-1: unlimited).") var pidsLimit: Int64?
    @Option(name: .customLong("blkio-weight"), parsing: .unconditional, help: "Relative block I/O weight, 10 to 1000 (io.weight).") var blkioWeight: Int64?

    var flags: ResourceFlags {
        var f = ResourceFlags()
        f.memory = memory
        f.memorySwap = memorySwap
        f.memoryReservation = memoryReservation
        f.cpus = cpus
        f.cpuShares = cpuShares
        f.cpuPeriod = cpuPeriod
        f.cpuQuota = cpuQuota
        f.cpusetCpus = cpusetCpus
        f.cpusetMems = cpusetMems
        f.pidsLimit = pidsLimit
        f.blkioWeight = blkioWeight
        return f
    }
}

struct UpdateContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change the limits or restart policy of containers (running ones at once).")
    @OptionGroup var s: StoreOptions
    @OptionGroup var limits: LimitFlags
    @Option(parsing: .unconditional, help: "no, always, unless-stopped, on-failure[:max-retries]") var restart: String?
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        try containerCommand {
            let flags = limits.flags
            let restart = try self.restart.map { try Container.RestartPolicy.parse($0) }
            guard !flags.isEmpty || restart != nil else {
                throw Failure("you must provide one or more flags when using this command (see `swiftrun update --help`)")
            }
            var failed = false
            try s.eachContainer(containers) { e, id, ref in
                do {
                    try e.update(id, flags, restart: restart)
                    stdoutWrite(ref + "\n")
                } catch {
                    stderrWrite("swiftrun: cannot update container \(ref): \(error)\n")
                    failed = true
                }
            }
            if failed { throw ExitCode(125) }
        }
    }
}
