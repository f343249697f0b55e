import ArgumentParser
import Engine
import ImageStore
import OS
import Registry
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// The flags `run` and `create` share (Docker's names).
struct ContainerFlags: ParsableArguments {
    @Option(name: [.short, .customLong("env")], parsing: .unconditionalSingleValue, help: "KEY=VALUE, or KEY to pass the caller's value.") var env: [String] = []
    @Option(name: .customLong("env-file"), parsing: .unconditionalSingleValue, help: "Read KEY=VALUE lines from a file.") var envFile: [String] = []
    @Option(name: [.short, .customLong("workdir")], parsing: .unconditional, help: "Working directory inside the container.") var workdir: String?
    @Option(name: [.short, .long], parsing: .unconditional, help: "name, uid, name:group or uid:gid (from the image's files).") var user: String?
    @Option(parsing: .unconditional, help: "Replace the image's ENTRYPOINT (and its CMD).") var entrypoint: String?
    @Option(parsing: .unconditional, help: "Container name (unique).") var name: String?
    @Option(parsing: .unconditional, help: "Container hostname.") var hostname: String?
    @Flag(name: .customLong("read-only"), help: "Mount the root filesystem read-only.") var readOnly = false
    @Flag(help: "Remove the container when it exits.") var rm = false
    @Flag(name: [.short, .long], help: "Keep stdin open (foreground run passes it through).") var interactive = false
    @Flag(name: [.short, .long], help: "A pseudo-terminal for the process (with -i: raw mode, window size follows yours, ^C reaches it).") var tty = false
    @Option(parsing: .unconditional, help: "no, always, unless-stopped, on-failure[:max-retries]") var restart: String = "no"
    @Option(name: .customLong("stop-signal"), parsing: .unconditional, help: "Signal that stops the container (default: the image's, else SIGTERM).") var stopSignal: String?
    @Option(name: .customLong("stop-timeout"), parsing: .unconditional, help: "Seconds to wait after the stop signal before SIGKILL (default 10).") var stopTimeout: Int?
    @Option(name: [.short, .customLong("label")], parsing: .unconditionalSingleValue, help: "KEY=VALUE metadata.") var label: [String] = []
    @Option(name: .customLong("log-opt"), parsing: .unconditionalSingleValue, help: "json-file options: max-size=20m, max-file=5.") var logOpt: [String] = []
    @Option(name: .customLong("health-cmd"), parsing: .unconditional, help: "Command to run to check health (shell form).") var healthCmd: String?
    @Option(name: .customLong("health-interval"), parsing: .unconditional, help: "Time between checks (ms|s|m|h).") var healthInterval: String?
    @Option(name: .customLong("health-timeout"), parsing: .unconditional, help: "Maximum time a check may run.") var healthTimeout: String?
    @Option(name: .customLong("health-start-period"), parsing: .unconditional, help: "Start period: failures do not count until it ends.") var healthStartPeriod: String?
    @Option(name: .customLong("health-start-interval"), parsing: .unconditional, help: "Time between checks during the start period.") var healthStartInterval: String?
    @Option(name: .customLong("health-retries"), parsing: .unconditional, help: "Consecutive failures needed to report unhealthy.") var healthRetries: Int?
    @Flag(name: .customLong("no-healthcheck"), help: "Disable any container-specified HEALTHCHECK.") var noHealthcheck = false
    @Option(name: .customLong("health-on-failure"), parsing: .unconditional, help: "none, kill, restart or stop, at the change to unhealthy.") var healthOnFailure = "none"
    @Option(name: [.customLong("network"), .customLong("net")], parsing: .unconditional, help: "bridge (default), none, host, container:NAME or a network from `network create`.") var network: String?
    @Option(name: [.short, .customLong("publish")], parsing: .unconditionalSingleValue, help: "[IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp], ranges allowed (HOSTPORT omitted: an ephemeral port).") var publish: [String] = []
    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Publish the image's EXPOSEd ports on ephemeral host ports.") var publishAll = false
    @Option(name: .customLong("dns"), parsing: .unconditionalSingleValue, help: "Nameserver for the container's resolv.conf.") var dns: [String] = []
    @Option(name: .customLong("dns-search"), parsing: .unconditionalSingleValue, help: "Search domain for resolv.conf.") var dnsSearch: [String] = []
    @Option(name: .customLong("dns-option"), parsing: .unconditionalSingleValue, help: "resolv.conf option.") var dnsOption: [String] = []
    @Option(name: .customLong("add-host"), parsing: .unconditionalSingleValue, help: "HOST:IP line for /etc/hosts (IP may be host-gateway).") var addHost: [String] = []
    @Option(name: [.customLong("network-alias"), .customLong("net-alias")], parsing: .unconditionalSingleValue, help: "Another name for the container on a user network.") var networkAlias: [String] = []
    @Option(name: [.short, .customLong("volume")], parsing: .unconditionalSingleValue, help: "HOSTPATH:PATH[:ro], VOLUME:PATH[:ro] (made and seeded from the image if new), or PATH (an anonymous volume).") var volume: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "type=bind|volume|tmpfs,source=...,target=...[,readonly][,volume-nocopy][,tmpfs-size=64m][,tmpfs-mode=1777]") var mount: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "PATH[:size=64m,mode=1777,...]: a tmpfs (noexec, nosuid, nodev unless told).") var tmpfs: [String] = []
    @Option(name: .customLong("cap-add"), parsing: .unconditionalSingleValue, help: "Add a capability (NET_ADMIN, CAP_SYS_PTRACE, ALL).") var capAdd: [String] = []
    @Option(name: .customLong("cap-drop"), parsing: .unconditionalSingleValue, help: "Drop a capability (ALL drops every one).") var capDrop: [String] = []
    @Flag(name: .customLong("init"), help: "Run an init as PID 1 that reaps zombies and forwards signals (as tini).") var initProcess = false
    @Flag(help: "Every capability and host device, no seccomp, no masked paths: the container is as strong as root on the host.") var privileged = false
    @Option(name: .customLong("security-opt"), parsing: .unconditionalSingleValue, help: "no-new-privileges[=true|false], seccomp=unconfined|PROFILE.json, systempaths=unconfined") var securityOpt: [String] = []
    @Option(parsing: .unconditional, help: "missing (pull the image if it is not here), always, or never.") var pull = "missing"
    @Option(parsing: .unconditionalSingleValue, help: "TYPE=SOFT[:HARD] (nofile, nproc, core, memlock, stack, ...; -1 is unlimited). Default nofile=1024:524288.") var ulimit: [String] = []
    @Option(name: .customLong("shm-size"), help: "Size of /dev/shm (default 64m).") var shmSize: String?
    @Option(name: .customLong("group-add"), help: "A further group of the process (a name of the image's /etc/group, or a number); repeatable.") var groupAdd: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "HOST_PATH[:CONTAINER_PATH[:rwm]]: a device of the host in the container.") var device: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "KEY=VALUE: a namespaced kernel parameter (net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*).") var sysctl: [String] = []
    @OptionGroup(title: "Limits (cgroup v2)") var limits: LimitFlags

    /// Docker's --pull: the image from its registry when it is missing (or always), with
    /// the progress on stderr (stdout is the container's).
    func pullIfNeeded(_ engine: Engine, _ image: String) throws {
        guard ["missing", "always", "never"].contains(pull) else { throw Failure("invalid --pull '\(pull)': use missing, always or never") }
        if !Reference.isID(image) { _ = try Reference.parse(image) }
        if pull == "never" || (pull == "missing" && (try? engine.store.find(image)) != nil) { return }
        if pull == "missing" { stderrWrite("Unable to find image '\(image)' locally\n") }
        let ui = PullProgress(tty: isatty(2) == 1, quiet: false, fd: 2)
        let r = try Puller.pull(image, store: engine.store) { ui.show($0) }
        stderrWrite("Digest: \(r.digest)\nStatus: \(r.fresh ? "Downloaded newer image" : "Image is up to date") for \(r.name)\n")
    }

    func options(image: String, command: [String]) throws -> Engine.CreateOptions {
        var o = Engine.CreateOptions(image: image)
        o.overrides.command = command.first == "--" ? Array(command.dropFirst()) : command
        var envs: [String] = []
        for f in envFile {
            let text: String
            do { text = try Files.readString(f) } catch { throw Failure("--env-file: \(error)") }
            for line in text.split(separator: "\n") {
                let l = line.trimmed()
                if l.isEmpty || l.hasPrefix("#") { continue }
                envs.append(l)
            }
        }
        o.overrides.env = envs + env
        o.overrides.workdir = workdir
        o.overrides.user = user
        o.overrides.entrypoint = entrypoint
        o.name = name
        o.hostname = hostname
        o.readOnly = readOnly
        o.autoRemove = rm
        o.interactive = interactive
        o.restart = try Container.RestartPolicy.parse(restart)
        o.stopSignal = stopSignal
        o.stopTimeout = stopTimeout
        o.labels = labels(label)
        for opt in logOpt {
            let kv = opt.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { throw Failure("invalid --log-opt '\(opt)': use KEY=VALUE") }
            o.logOptions[String(kv[0])] = String(kv[1])
        }
        func dur(_ flag: String, _ v: String?) throws -> Int64? {
            guard let v else { return nil }
            guard let d = GoDuration.parse(v) else {
                throw Failure("invalid argument \"\(v)\" for \"--\(flag)\" flag: time: invalid duration \"\(v)\" (use e.g. 500ms, 5s, 1m30s)")
            }
            return d
        }
        o.health.cmd = healthCmd
        o.health.interval = try dur("health-interval", healthInterval)
        o.health.timeout = try dur("health-timeout", healthTimeout)
        o.health.startPeriod = try dur("health-start-period", healthStartPeriod)
        o.health.startInterval = try dur("health-start-interval", healthStartInterval)
        o.health.retries = healthRetries
        o.health.disable = noHealthcheck
        o.healthOnFailure = healthOnFailure
        o.network = network
        o.publish = publish
        o.publishAll = publishAll
        o.dns = dns
        o.dnsSearch = dnsSearch
        o.dnsOptions = dnsOption
        o.addHosts = addHost
        o.aliases = networkAlias
        o.resources = limits.flags
        o.volumes = volume
        o.mounts = mount
        o.tmpfs = tmpfs
        o.security.capAdd = capAdd
        o.security.capDrop = capDrop
        o.security.privileged = privileged
        o.initProcess = initProcess
        o.tty = tty
        o.ulimits = ulimit
        o.shmSize = shmSize
        o.overrides.groupAdd = groupAdd
        o.security.devices = device
        o.sysctls = sysctl
        o.security.securityOpt = securityOpt
        return o
    }
}

/// `-l KEY=VALUE` (or KEY, with an empty value), as Docker reads labels.
func labels(_ list: [String]) -> [String: String] {
    var out: [String: String] = [:]
    for l in list {
        let kv = l.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        out[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
    }
    return out
}

/// Docker's way with a list of things to remove: each printed when done, each failure
/// reported and the rest still tried; exit status 1 if any failed.
func eachArgument(_ refs: [String], _ body: (String) throws -> Void) throws {
    var failed = false
    for ref in refs {
        do {
            try body(ref)
            stdoutWrite(ref + "\n")
        } catch {
            stderrWrite("swiftrun: \(error)\n")
            failed = true
        }
    }
    if failed { throw ExitCode(1) }
}

/// Errors of container commands: Docker's codes (125 ours; 126/127 from the runtime).
/// Docker's exit codes: `run` and `create` exit 125 when they fail before the container runs
/// (`failure`); every other command exits 1 (a missing container, one not running, a bad
/// template); 126 and 127 are the container's command that could not run. Flags the parser
/// refuses are 125 everywhere (Root). ExitCodeTests keeps the table.
package func containerCommand(failure: Int32 = 1, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as RuntimeError where e.exitCode == 126 || e.exitCode == 127 {
        stderrWrite("swiftrun: \(e)\n")
        throw ExitCode(e.exitCode)
    } catch {
        stderrWrite("swiftrun: \(error)\n")
        throw ExitCode(failure)
    }
}

extension StoreOptions {
    package func engine() throws -> Engine {
        let e = Engine(store: try store())
        e.warn = { stderrWrite("swiftrun: warning: \($0)\n") }
        return e
    }

    /// `body(engine, id, ref)` for each container the user named (name, ID or prefix).
    func eachContainer(_ refs: [String], _ body: (Engine, String, String) throws -> Void) throws {
        let e = try engine()
        for ref in refs { try body(e, try e.resolve(ref), ref) }
    }
}
