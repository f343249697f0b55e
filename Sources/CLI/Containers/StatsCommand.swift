import ArgumentParser
import Engine
import OCI
import OS
import Template
import RuncCLI
#if canImport(Glibc)
import Glibc
#endif

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Live CPU, memory, pids, block and network I/O of containers.")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "All containers (stopped ones show zeros), not only running ones.") var all = false
    @Flag(name: .customLong("no-stream"), help: "Print one reading and exit.") var noStream = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate IDs.") var noTrunc = false
    @Option(help: "table, json, or a template such as '{{.Name}} {{.MemUsage}}'.") var format: String?
    @Argument(help: "Containers (name or ID); default: all running ones.") var containers: [String] = []

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            let template = try format.flatMap { $0 == "json" || $0 == "table" ? nil : try Template($0) }
            let tty = isatty(1) == 1
            var previous: [String: StatsSample] = [:]
            // CPU % needs two readings: the first table comes half a second after the first read.
            var wait: UInt32 = 500_000
            while true {
                let views = try selected(engine)
                var current: [String: StatsSample] = [:]
                for v in views { current[v.container.Id] = engine.stats(v) }
                if previous.isEmpty {
                    previous = current
                    usleep(wait)
                    continue
                }
                let rows = views.map { v in row(v, current[v.container.Id] ?? nil, previous[v.container.Id] ?? nil) }
                var out = ""
                if tty && !noStream { out += "\u{1B}[2J\u{1B}[H" }
                switch format {
                case "json":
                    out += rows.map { $0.json + "\n" }.joined()
                case let f? where f != "table":
                    if let t = template {
                        if t.table { out += t.header(["ID": "CONTAINER ID", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
                                                      "NetIO": "NET I/O", "BlockIO": "BLOCK I/O"]) + "\n" }
                        for r in rows { out += try t.render(r, fieldsOf: "*formatter.statsContext") + "\n" }
                    }
                default:
                    var table = [["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]]
                    table += rows.map { r in ["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs"].map { r[$0]?.text ?? "" } }
                    out += Table.render(table)
                }
                stdoutWrite(out)
                if noStream { return }
                previous = current
                wait = 1_000_000
                usleep(wait)
            }
        }
    }

    func selected(_ engine: Engine) throws -> [ContainerView] {
        if !containers.isEmpty { return try containers.map { try engine.view(try engine.resolve($0)) } }
        return engine.list().filter { all || $0.state.Running || $0.state.Paused }
    }

    func row(_ v: ContainerView, _ now: StatsSample?, _ before: StatsSample?) -> JSONValue {
        let id = noTrunc ? v.container.Id : String(v.container.Id.prefix(12))
        func pct(_ x: Double) -> String { Self.fixed2(x) + "%" }
        func pair(_ a: UInt64?, _ b: UInt64?, _ f: (Double) -> String) -> String {
            guard let a, let b else { return "--" }
            return f(Double(a)) + " / " + f(Double(b))
        }
        var cpu = "--", mem = "-- / --", memPct = "--", net = "--", blk = "--", pids = "--"
        if let n = now {
            if let u = n.cpuUsec, let b = before, let bu = b.cpuUsec, n.timeNs > b.timeNs, u >= bu {
                cpu = pct(Double(u - bu) * 1000 / Double(n.timeNs - b.timeNs) * 100)
            }
            mem = pair(n.memUsage, n.memLimit, ByteSize.binary)
            if let u = n.memUsage, let l = n.memLimit, l > 0 { memPct = pct(Double(u) / Double(l) * 100) }
            net = pair(n.netRx, n.netTx, ByteSize.decimal)
            blk = pair(n.blkRead, n.blkWrite, ByteSize.decimal)
            pids = n.pids.map(String.init) ?? "--"
        } else if !v.state.Running {
            (cpu, mem, memPct, net, blk, pids) = ("0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0")
        }
        return .object([
            ("BlockIO", .string(blk)), ("CPUPerc", .string(cpu)), ("Container", .string(v.container.Name)), ("ID", .string(id)),
            ("MemPerc", .string(memPct)), ("MemUsage", .string(mem)), ("Name", .string(v.container.Name)), ("NetIO", .string(net)),
            ("PIDs", .string(pids)),
        ])
    }

    /// "%.2f" without Foundation.
    static func fixed2(_ x: Double) -> String {
        var buf = [CChar](repeating: 0, count: 48)
        _ = withVaList([x]) { vsnprintf(&buf, buf.count, "%.2f", $0) }
        return String(cString: buf)
    }
}
