import OCI
import OS
import Runtime

/// One entry per runc command: its options, and a body that returns the exit code.
extension Runc {
    static let createOptions: [OptionSpec] = [
        .value("bundle", "b", "Bundle directory (holds config.json); default the current one."),
        .value("pid-file", nil, "Write the init's pid here."),
        .value("console-socket", nil, "Unix socket that receives the pty master."),
        .value("preserve-fds", nil, "Pass fds 3..3+N-1 to the container."),
        .value("config", nil, "Config file to use instead of <bundle>/config.json, relative to the bundle (crun)."),
        .flag("no-pivot", nil, "Accepted for runc compatibility; pivot_root is always used."),
        .flag("no-new-keyring", nil, "Accepted for runc compatibility."),
    ]

    static func createOptions(_ p: ParsedArgs) throws -> Runtime.CreateOptions {
        var o = Runtime.CreateOptions(bundle: p.value("bundle") ?? ".")
        o.pidFile = p.value("pid-file")
        o.consoleSocket = p.value("console-socket")
        o.preserveFds = try int32(p, "preserve-fds") ?? 0
        o.configPath = p.value("config")
        return o
    }

    static func int32(_ p: ParsedArgs, _ name: String) throws -> Int32? {
        guard let v = p.value(name) else { return nil }
        guard let n = Int32(v), n >= 0 else { throw UsageError("--\(name) takes a number, not \"\(v)\"") }
        return n
    }

    /// The one positional ID a command needs.
    static func id(_ p: ParsedArgs, extra: Int = 0) throws -> String {
        guard let id = p.positionals.first else { throw UsageError("a container ID is needed") }
        guard p.positionals.count <= 1 + extra else { throw UsageError("unexpected argument \"\(p.positionals[1 + extra])\"") }
        return id
    }

    static let commands: [Command] = [
        Command(name: "create", usage: "[OPTIONS] ID", abstract: "Create a container from a bundle; its process waits for `start`.",
                options: createOptions) { ctx, p in
            _ = try ctx.runtime.create(id: try id(p), options: try createOptions(p))
            return 0
        },
        Command(name: "start", usage: "ID", abstract: "Run the process of a created container.", options: []) { ctx, p in
            try ctx.runtime.start(try id(p))
            return 0
        },
        Command(name: "state", usage: "ID", abstract: "Print the runtime-spec state of a container as JSON.", options: []) { ctx, p in
            stdoutWrite(try JSON.string(try ctx.runtime.state(try id(p)), pretty: true) + "\n")
            return 0
        },
        Command(name: "kill", usage: "[OPTIONS] ID [SIGNAL]", abstract: "Send a signal (default TERM) to a container's init, or to all its processes.",
                options: [.flag("all", "a", "Signal every process in the container's cgroup.")]) { ctx, p in
            let cid = try id(p, extra: 1)
            let name = p.positionals.count > 1 ? p.positionals[1] : "TERM"
            guard let sig = Signals.parse(name) else { throw RuntimeError("unknown signal \"\(name)\"") }
            try ctx.runtime.kill(cid, signal: sig, all: p.has("all"))
            return 0
        },
        Command(name: "delete", usage: "[OPTIONS] ID | --regex RE", abstract: "Delete a container and everything the runtime made for it.",
                options: [.flag("force", "f", "Kill a running container first."),
                          .value("regex", "r", "Delete every container whose ID matches this regular expression (crun).")]) { ctx, p in
            let rt = ctx.runtime, force = p.has("force")
            if let regex = p.value("regex") {
                guard p.positionals.isEmpty else { throw RuntimeError("give an ID or --regex, not both") }
                let re: Regex<AnyRegexOutput>
                do { re = try Regex(regex) } catch { throw RuntimeError("--regex \(regex): \(error)") }
                // A search, as crun's regexec: 'test-*' deletes test-a and test-b (anchor it to match whole IDs).
                for (rec, _) in rt.list() where (try? re.firstMatch(in: rec.id)) != nil { try rt.delete(rec.id, force: force) }
                return 0
            }
            try rt.delete(try id(p), force: force)
            return 0
        },
        Command(name: "run", usage: "[OPTIONS] ID", abstract: "Create and start a container; wait for it unless --detach.",
                options: createOptions + [.flag("detach", "d", "Return once started."),
                                          .flag("keep", nil, "Keep the container's state after it exits.")]) { ctx, p in
            try ctx.runtime.run(id: try id(p), options: try createOptions(p), detach: p.has("detach"), keep: p.has("keep"))
        },
        Command(name: "exec", usage: "[OPTIONS] ID [--] COMMAND [ARG...] | --process FILE ID",
                abstract: "Run a process in a running container.",
                options: [.value("process", "p", "A process.json (runtime-spec process) to run instead of COMMAND."),
                          .flag("detach", "d", "Return once the process has started."),
                          .value("pid-file", nil, "Write the process's pid here."),
                          .flag("tty", "t", "Allocate a terminal; its master goes to --console-socket."),
                          .value("console-socket", nil, "Unix socket that receives the pty master."),
                          .value("env", "e", "KEY=VALUE, repeatable."),
                          .value("cwd", nil, "Working directory in the container."),
                          .value("user", "u", "uid[:gid]."),
                          .value("cap", "c", "Add a capability, repeatable."),
                          .flag("no-new-privs", nil, "Set no_new_privs."),
                          .value("preserve-fds", nil, "Pass fds 3..3+N-1 to the process."),
                          .value("process-label", nil, "Accepted for runc compatibility (SELinux is not supported)."),
                          .value("apparmor", nil, "Accepted for runc compatibility (AppArmor is not supported).")],
                passthroughAfter: 1) { ctx, p in
            let rt = ctx.runtime, cid = try id(p)
            var proc: Spec.Process
            if let file = p.value("process") {
                proc = try JSON.decode(Spec.Process.self, from: try Files.read(file), what: file)
            } else {
                guard !p.rest.isEmpty else { throw RuntimeError("exec needs a command (or --process FILE)") }
                proc = try rt.execProcess(cid, args: p.rest, env: p.all("env"), cwd: p.value("cwd"), user: p.value("user"),
                                          addCaps: p.all("cap"), noNewPrivileges: p.has("no-new-privs"), tty: p.has("tty"))
            }
            var o = Runtime.ExecOptions(process: proc)
            o.detach = p.has("detach")
            o.pidFile = p.value("pid-file")
            o.preserveFds = try int32(p, "preserve-fds") ?? 0
            o.consoleSocket = p.value("console-socket")
            return try rt.exec(cid, o)
        },
        Command(name: "list", usage: "[OPTIONS]", abstract: "List containers.",
                options: [.value("format", "f", "table or json."), .flag("quiet", "q", "IDs only.")]) { ctx, p in
            let items = ctx.runtime.list()
            if p.has("quiet") { items.forEach { stdoutWrite($0.0.id + "\n") }; return 0 }
            if p.value("format") == "json" {
                let e = items.map { ListEntry(ociVersion: Spec.version, id: $0.0.id, pid: $0.1 == .stopped ? 0 : $0.0.pid,
                                              status: $0.1.rawValue, bundle: $0.0.bundle, rootfs: $0.0.rootfs, created: $0.0.created) }
                stdoutWrite(try JSON.string(e) + "\n")
                return 0
            }
            var rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED"]]
            for (r, st) in items { rows.append([r.id, st == .stopped ? "0" : String(r.pid), st.rawValue, r.bundle, r.created]) }
            stdoutWrite(Table.render(rows))
            return 0
        },
        Command(name: "ps", usage: "[OPTIONS] ID [PS ARGS]", abstract: "List the pids in a container's cgroup.",
                options: [.value("format", "f", "table or json.")], passthroughAfter: 1) { ctx, p in
            let pids = try ctx.runtime.processes(try id(p))
            if p.value("format") == "json" { stdoutWrite(try JSON.string(pids) + "\n"); return 0 }
            stdoutWrite("PID\n" + pids.map { "\($0)\n" }.joined())
            return 0
        },
        Command(name: "update", usage: "--resources FILE|- ID", abstract: "Set a running container's cgroup limits (containerd's and CRI-O's UpdateContainerResources).",
                options: [.value("resources", "r", "A runtime-spec linux.resources JSON, from a file or - for stdin.")]) { ctx, p in
            guard let from = p.value("resources") else {
                throw RuntimeError("update needs --resources FILE (or - for stdin): the limits as runtime-spec linux.resources JSON")
            }
            let bytes = from == "-" ? try FD.standardInput().readToEnd() : try Files.read(from)
            let resources = try JSON.decode(Spec.Resources.self, from: bytes, what: from == "-" ? "--resources from stdin" : from)
            try ctx.runtime.update(try id(p), resources: resources)
            return 0
        },
        Command(name: "spec", usage: "[OPTIONS]", abstract: "Write a default config.json into the bundle.",
                options: [.value("bundle", "b", "Bundle directory; default the current one."),
                          .flag("rootless", nil, "A spec for rootless use (not supported yet).")]) { _, p in
            if p.has("rootless") { throw RuntimeError("--rootless specs are not supported yet") }
            let path = (p.value("bundle") ?? ".") + "/config.json"
            if Files.exists(path) { throw RuntimeError("\(path) already exists: remove it first") }
            try Files.writeAtomic(path, Array((try JSON.string(DefaultSpec.make(), pretty: true) + "\n").utf8))
            return 0
        },
        Command(name: "features", usage: "", abstract: "Print what this runtime supports (runtime-spec features.json).", options: []) { _, _ in
            var f = Features()
            f.linux.capabilities = DefaultSpec.allCapabilities
            stdoutWrite(try JSON.string(f, pretty: true) + "\n")
            return 0
        },
        Command(name: "pause", usage: "ID", abstract: "Freeze every process of a container (cgroup.freeze).", options: []) { ctx, p in
            try ctx.runtime.pause(try id(p), true)
            return 0
        },
        Command(name: "resume", usage: "ID", abstract: "Thaw a paused container.", options: []) { ctx, p in
            try ctx.runtime.pause(try id(p), false)
            return 0
        },
    ]

    struct ListEntry: Encodable {
        var ociVersion: String, id: String, pid: Int32, status: String, bundle: String, rootfs: String, created: String
    }

    struct Features: Encodable {
        var ociVersionMin = "1.0.0"
        var ociVersionMax = Spec.version
        var hooks = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
        var mountOptions = ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "relatime",
                            "strictatime", "nodiratime", "bind", "rbind", "private", "rprivate", "shared", "rshared",
                            "slave", "rslave", "unbindable", "runbindable", "idmap", "ridmap", "sync", "dirsync"]
        var linux = Linux()
        struct Linux: Encodable {
            var namespaces = ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]
            /// runtime-spec features.md: idmapped mounts (uidMappings/gidMappings on a mount).
            var mountExtensions = ["idmap": ["enabled": true]]
            var capabilities: [String] = []
            var cgroup = ["v1": false, "v2": true, "systemd": false, "systemdUser": false]
            var seccomp = Seccomp()
            struct Seccomp: Encodable {
                var enabled = true
                var actions = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                               "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"]
                var supportedFlags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC",
                                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
                var operators = ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                                 "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]
                var archs = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
            }
        }
    }
}
