import Engine
import OS
import Yams

/// The YAML tree → the model, strictly: every key is known (or `x-`), every value of the
/// type compose-spec gives it; scalars are read as the strings they are written as
/// (`22:22`, `on`, `yes` stay strings where a string is wanted), and booleans and numbers
/// are converted only where the field is one. Errors name the file, line and key.
struct Decoder {
    let file: String
    /// One file of several: what another file may supply is not required here.
    let partial: Bool
    let env: [String: String]
    let dir: String
    let project: String

    // MARK: scalars and shapes

    func err(_ n: Node?, _ key: String, _ msg: String) -> ComposeError {
        ComposeError("\(file)\(n?.mark.map { ":\($0.line)" } ?? ""): \(key) \(msg)")
    }

    func str(_ n: Node, _ key: String) throws -> String {
        guard case .scalar(let s) = n else { throw err(n, key, "must be a string") }
        return s.string
    }

    func optStr(_ n: Node, _ key: String) throws -> String? {
        // YAML's null: `~`, `null`, or nothing at all after the key.
        if case .scalar(let s) = n, s.style == .plain, s.string == "" || s.string == "~" || s.string == "null" || s.string == "Null" || s.string == "NULL" { return nil }
        return try str(n, key)
    }

    func bool(_ n: Node, _ key: String) throws -> Bool {
        let s = try str(n, key)
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw err(n, key, "must be a boolean (true or false), not \"\(s)\"")
        }
    }

    func int(_ n: Node, _ key: String) throws -> Int {
        let s = try str(n, key)
        guard let v = Int(s) else { throw err(n, key, "must be an integer, not \"\(s)\"") }
        return v
    }

    func duration(_ n: Node, _ key: String) throws -> Int64 {
        let s = try str(n, key)
        guard let d = GoDuration.parse(s), d >= 0 else { throw err(n, key, "must be a duration such as 30s or 1m30s, not \"\(s)\"") }
        return d
    }

    func list(_ n: Node, _ key: String) throws -> [Node] {
        guard case .sequence(let s) = n else { throw err(n, key, "must be a list") }
        return Array(s)
    }

    func strList(_ n: Node, _ key: String) throws -> [String] {
        try list(n, key).map { try str($0, key) }
    }

    /// A string (split as a shell would, without expanding) or a list.
    func command(_ n: Node, _ key: String) throws -> [String] {
        if case .scalar = n { return try Self.shellWords(try str(n, key), key: key) }
        return try strList(n, key)
    }

    /// A mapping, merge keys (`<<: *anchor`) applied: the mapping's own keys win.
    func mapping(_ n: Node, _ key: String) throws -> [(String, Node)] {
        guard case .mapping(let m) = n else { throw err(n, key, "must be a mapping") }
        var own: [(String, Node)] = []
        var merged: [(String, Node)] = []
        for (k, v) in m {
            let name = try str(k, key + " key")
            if name == "<<" {
                let sources = (try? list(v, "<<")) ?? [v]
                for s in sources { merged += try mapping(s, key) }
            } else {
                own.append((name, v))
            }
        }
        let ownKeys = Set(own.map(\.0))
        var seen = Set<String>()
        return (own + merged.filter { !ownKeys.contains($0.0) }).filter { seen.insert($0.0).inserted }
    }

    func checkKeys(_ m: [(String, Node)], _ allowed: Set<String>, _ where_: String, unsupported: Set<String> = []) throws {
        for (k, v) in m where !k.hasPrefix("x-") {
            if unsupported.contains(k) { throw err(v, "\(where_).\(k)", "is not supported by swiftrun yet") }
            if !allowed.contains(k) { throw err(v, where_, "additional property \"\(k)\" is not allowed") }
        }
    }

    /// `KEY: value` mapping or `KEY=value` list; a missing value is nil.
    func pairs(_ n: Node, _ key: String) throws -> [(String, String?)] {
        if case .sequence = n {
            return try strList(n, key).map { s in
                guard let eq = s.firstIndex(of: "=") else { return (s, nil) }
                return (String(s[..<eq]), String(s[s.index(after: eq)...]))
            }
        }
        return try mapping(n, key).map { ($0.0, try optStr($0.1, key + "." + $0.0)) }
    }

    // MARK: the file

    static let topKeys: Set<String> = ["version", "name", "services", "networks", "volumes", "secrets", "configs"]
    static let serviceKeys: Set<String> = [
        "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "volumes", "depends_on", "healthcheck",
        "restart", "user", "working_dir", "hostname", "container_name", "networks", "network_mode", "labels", "stop_signal",
        "stop_grace_period", "tty", "stdin_open", "init", "read_only", "tmpfs", "cap_add", "cap_drop", "profiles", "expose",
        "extra_hosts", "dns", "mem_limit", "cpus", "pids_limit", "logging", "deploy", "platform", "pull_policy", "privileged",
        "security_opt", "domainname", "secrets", "configs", "ulimits", "sysctls", "shm_size", "extends", "scale", "devices", "group_add",
    ]
    static let serviceUnsupported: Set<String> = [
        "ipc", "pid", "userns_mode", "cgroup_parent",
        "links", "external_links", "volumes_from", "runtime", "isolation", "develop",
    ]

    func checkTop(_ root: Node) throws {
        let top = try mapping(root, "(root)")
        try checkKeys(top, Self.topKeys, "(root)")
        for (k, v) in top where k == "services" {
            for (name, s) in try mapping(v, "services") {
                try checkKeys(try mapping(s, "services.\(name)"), Self.serviceKeys, "services.\(name)", unsupported: Self.serviceUnsupported)
            }
        }
    }

    func project(_ root: Node, profiles: [String]) throws -> Project {
        try checkTop(root)
        let top = try mapping(root, "(root)")
        var networks: [String: NetworkDef] = [:]
        var volumes: [String: VolumeDef] = [:]
        var files: [FileMount.Kind: [String: FileDef]] = [.secret: [:], .config: [:]]
        for (k, v) in top {
            switch k {
            case "networks":
                for (name, def) in try mapping(v, "networks") { networks[name] = try network(name, def) }
            case "volumes":
                for (name, def) in try mapping(v, "volumes") { volumes[name] = try volume(name, def) }
            case "secrets", "configs":
                let kind: FileMount.Kind = k == "secrets" ? .secret : .config
                for (name, def) in try mapping(v, k) { files[kind]![name] = try fileDef(kind, name, def) }
            default: break
            }
        }
        var services: [Service] = []
        guard let svcNode = top.first(where: { $0.0 == "services" })?.1 else { throw ComposeError("\(file): no services defined") }
        for (name, def) in try mapping(svcNode, "services") {
            guard name.unicodeScalars.allSatisfy({ ($0.properties.isAlphabetic && $0.isASCII) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "." }) else {
                throw err(def, "services.\(name)", "is not a valid service name: use [a-zA-Z0-9._-]")
            }
            services.append(try service(name, def, networks: networks, volumes: volumes, files: files))
        }
        // Profiles: a service with some is active only when one of them is enabled.
        let enabled = Set(profiles + (env["COMPOSE_PROFILES"]?.split(separator: ",").map { String($0).trimmed() } ?? []))
        services = services.filter { $0.profiles.isEmpty || !$0.profiles.filter(enabled.contains).isEmpty || enabled.contains("*") }
        // The default network, when some service uses it.
        if services.contains(where: { $0.networks.contains { $0.name == "default" } }) && networks["default"] == nil {
            networks["default"] = NetworkDef(name: "\(project)_default")
        }
        // Dependencies exist (or are inactive but optional).
        for s in services {
            for d in s.dependsOn where services.first(where: { $0.name == d.service }) == nil && d.required {
                throw ComposeError("\(file):\(s.line): service \"\(s.name)\" depends on undefined service \"\(d.service)\": invalid compose project")
            }
        }
        return Project(name: project, directory: dir, services: services, networks: networks, volumes: volumes)
    }

    /// secrets.NAME / configs.NAME: `file` (relative to the project directory), `environment`
    /// (a variable of the shell or .env), `content` (inline); swarm's `external` cannot work here.
    func fileDef(_ kind: FileMount.Kind, _ name: String, _ n: Node) throws -> FileDef {
        let key = "\(kind.rawValue)s.\(name)"
        let m = try mapping(n, key)
        try checkKeys(m, ["file", "environment", "content", "external", "name", "labels", "driver", "template_driver"], key)
        for (k, v) in m {
            switch k {
            case "file":
                let path = absolute(try str(v, key + ".file"))
                guard Files.exists(path) else { throw err(v, key + ".file", "\(path) not found") }
                return FileDef(source: .file(path))
            case "environment":
                let variable = try str(v, key + ".environment")
                guard let value = env[variable] else { throw err(v, key + ".environment", "the environment has no \(variable) (the shell's, then .env)") }
                return FileDef(source: .content(value))
            case "content":
                return FileDef(source: .content(try str(v, key + ".content")))
            case "external":
                if try bool(v, key + ".external") { throw err(v, key + ".external", "external \(kind.rawValue)s are swarm's: not supported without it (use file:)") }
            default: break
            }
        }
        throw err(n, key, "needs file, environment or content")
    }

    /// A service's `secrets` or `configs`: NAME, or {source, target, uid, gid, mode}.
    func fileMounts(_ kind: FileMount.Kind, _ v: Node, _ key: String, defs: [String: FileDef]) throws -> [FileMount] {
        try list(v, key).map { item in
            var source: String, target: String? = nil, uid: UInt32? = nil, gid: UInt32? = nil, mode: UInt32? = nil
            if isScalar(item) {
                source = try str(item, key)
            } else {
                let m = try mapping(item, key)
                try checkKeys(m, ["source", "target", "uid", "gid", "mode"], key)
                guard let s = m.first(where: { $0.0 == "source" })?.1 else { throw err(item, key, "needs a source") }
                source = try str(s, key + ".source")
                for (k, x) in m {
                    switch k {
                    case "target": target = try str(x, key + ".target")
                    case "uid", "gid":
                        guard let n = UInt32(try str(x, key + "." + k)) else { throw err(x, key + "." + k, "must be a number") }
                        if k == "uid" { uid = n } else { gid = n }
                    case "mode":
                        // YAML 1.2 reads 0440 as decimal 440; compose means octal either way.
                        let text = try str(x, key + ".mode")
                        guard let n = UInt32(text.hasPrefix("0o") ? String(text.dropFirst(2)) : text, radix: 8) else { throw err(x, key + ".mode", "must be an octal mode") }
                        mode = n
                    default: break
                    }
                }
            }
            guard let def = defs[source] else {
                throw err(item, key, "refers to undefined \(kind.rawValue) \(source): invalid compose project (define it under the top-level \(kind.rawValue)s:, with file, environment or content)")
            }
            let t = target ?? source
            let path = t.hasPrefix("/") ? t : (kind == .secret ? "/run/secrets/" : "/") + t
            return FileMount(kind: kind, name: source, source: def.source, target: path, uid: uid, gid: gid, mode: mode)
        }
    }

    func network(_ name: String, _ n: Node) throws -> NetworkDef {
        var d = NetworkDef(name: "\(project)_\(name)")
        if isScalar(n) { return d }
        let m = try mapping(n, "networks.\(name)")
        try checkKeys(m, ["name", "external", "internal", "driver", "labels", "attachable", "enable_ipv6", "ipam", "driver_opts"], "networks.\(name)")
        var explicitName: String?
        for (k, v) in m {
            switch k {
            case "name": explicitName = try str(v, "networks.\(name).name")
            case "external": d.external = try bool(v, "networks.\(name).external")
            case "internal": d.isInternal = try bool(v, "networks.\(name).internal")
            case "driver":
                let drv = try str(v, "networks.\(name).driver")
                guard drv == "bridge" else { throw err(v, "networks.\(name).driver", "\"\(drv)\" is not supported: swiftrun's networks are bridges") }
            case "labels": d.labels = Dictionary(try pairs(v, "networks.\(name).labels").map { ($0.0, $0.1 ?? "") }, uniquingKeysWith: { _, b in b })
            default: break
            }
        }
        d.name = explicitName ?? (d.external ? name : "\(project)_\(name)")
        return d
    }

    func volume(_ name: String, _ n: Node) throws -> VolumeDef {
        var d = VolumeDef(name: "\(project)_\(name)")
        if isScalar(n) { return d }
        let m = try mapping(n, "volumes.\(name)")
        try checkKeys(m, ["name", "external", "driver", "labels", "driver_opts"], "volumes.\(name)")
        var explicitName: String?
        for (k, v) in m {
            switch k {
            case "name": explicitName = try str(v, "volumes.\(name).name")
            case "external": d.external = try bool(v, "volumes.\(name).external")
            case "driver":
                let drv = try str(v, "volumes.\(name).driver")
                guard drv == "local" else { throw err(v, "volumes.\(name).driver", "\"\(drv)\" is not supported: swiftrun's volumes are local") }
            case "labels": d.labels = Dictionary(try pairs(v, "volumes.\(name).labels").map { ($0.0, $0.1 ?? "") }, uniquingKeysWith: { _, b in b })
            default: break
            }
        }
        d.name = explicitName ?? (d.external ? name : "\(project)_\(name)")
        return d
    }

    func isScalar(_ n: Node) -> Bool { if case .scalar = n { return true }; return false }

    func absolute(_ p: String) -> String {
        if p.hasPrefix("/") { return p }
        if p == "~" || p.hasPrefix("~/") { return (env["HOME"] ?? "/root") + p.dropFirst() }
        return DockerIgnoreClean.clean(dir + "/" + p)
    }

    // MARK: a service

    func service(_ name: String, _ n: Node, networks: [String: NetworkDef], volumes: [String: VolumeDef],
                 files: [FileMount.Kind: [String: FileDef]] = [:]) throws -> Service {
        let key = "services.\(name)"
        let m = try mapping(n, key)
        try checkKeys(m, Self.serviceKeys, key, unsupported: Self.serviceUnsupported)
        var s = Service(name: name)
        s.line = n.mark?.line ?? 0
        var envFiles: [(String, Bool)] = []
        var envFilesNode: Node? = nil
        var environment: [(String, String?)] = []
        var nets: [ServiceNetwork] = []
        for (k, v) in m {
            let kk = key + "." + k
            switch k {
            case "image": s.image = try str(v, kk)
            case "build":
                if isScalar(v) {
                    s.build = BuildDef(context: absolute(try str(v, kk)))
                } else {
                    let b = try mapping(v, kk)
                    try checkKeys(b, ["context", "dockerfile", "target", "args", "labels", "network", "no_cache", "pull", "cache_from", "tags", "platforms"], kk)
                    var d = BuildDef(context: dir)
                    for (bk, bv) in b {
                        switch bk {
                        case "context": d.context = absolute(try str(bv, kk + ".context"))
                        case "dockerfile": d.dockerfile = try str(bv, kk + ".dockerfile")
                        case "target": d.target = try str(bv, kk + ".target")
                        case "args":
                            for (ak, av) in try pairs(bv, kk + ".args") { if let v = av ?? env[ak] { d.args[ak] = v } }
                        default: break
                        }
                    }
                    s.build = d
                }
            case "command": s.command = try command(v, kk)
            case "entrypoint": s.entrypoint = try command(v, kk)
            case "environment": environment = try pairs(v, kk)
            case "env_file":
                envFilesNode = v
                if isScalar(v) {
                    envFiles = [(absolute(try str(v, kk)), true)]
                } else {
                    envFiles = try list(v, kk).map { item in
                        if isScalar(item) { return (absolute(try str(item, kk)), true) }
                        let e = try mapping(item, kk)
                        try checkKeys(e, ["path", "required", "format"], kk)
                        guard let p = e.first(where: { $0.0 == "path" })?.1 else { throw err(item, kk, "needs a path") }
                        let req = try e.first(where: { $0.0 == "required" }).map { try bool($0.1, kk + ".required") } ?? true
                        return (absolute(try str(p, kk + ".path")), req)
                    }
                }
            case "ports": s.ports = try list(v, kk).map { try port($0, kk) }
            case "expose": break // documentation only between containers on one network
            case "volumes":
                for item in try list(v, kk) { try mount(item, kk, volumes: volumes, into: &s) }
            case "tmpfs": s.tmpfs += isScalar(v) ? [try str(v, kk)] : try strList(v, kk)
            case "depends_on":
                if case .sequence = v {
                    s.dependsOn = try strList(v, kk).map { DependsOn(service: $0, condition: .started, required: true) }
                } else {
                    for (dn, dv) in try mapping(v, kk) {
                        let dm = try mapping(dv, kk + "." + dn)
                        try checkKeys(dm, ["condition", "required", "restart"], kk + "." + dn)
                        var d = DependsOn(service: dn, condition: .started, required: true)
                        for (ck, cv) in dm {
                            if ck == "condition" {
                                let c = try str(cv, kk + "." + dn + ".condition")
                                guard let cond = DependsOn.Condition(rawValue: c) else {
                                    throw err(cv, kk + "." + dn + ".condition", "must be service_started, service_healthy or service_completed_successfully, not \"\(c)\"")
                                }
                                d.condition = cond
                            } else if ck == "required" {
                                d.required = try bool(cv, kk + "." + dn + ".required")
                            }
                        }
                        s.dependsOn.append(d)
                    }
                }
            case "healthcheck": s.healthcheck = try health(v, kk)
            case "restart":
                let r = try str(v, kk)
                guard r == "no" || r == "always" || r == "unless-stopped" || r.hasPrefix("on-failure") else {
                    throw err(v, kk, "must be no, always, on-failure[:N] or unless-stopped, not \"\(r)\"")
                }
                s.restart = r
            case "user": s.user = try str(v, kk)
            case "working_dir": s.workingDir = try str(v, kk)
            case "hostname": s.hostname = try str(v, kk)
            case "domainname": break
            case "container_name": s.containerName = try str(v, kk)
            case "networks":
                if case .sequence = v {
                    nets = try strList(v, kk).map { ServiceNetwork(name: $0, aliases: []) }
                } else {
                    for (nn, nv) in try mapping(v, kk) {
                        var sn = ServiceNetwork(name: nn, aliases: [])
                        if !isScalar(nv) {
                            let nm = try mapping(nv, kk + "." + nn)
                            try checkKeys(nm, ["aliases", "ipv4_address", "priority"], kk + "." + nn)
                            if let a = nm.first(where: { $0.0 == "aliases" }) { sn.aliases = try strList(a.1, kk + "." + nn + ".aliases") }
                        }
                        nets.append(sn)
                    }
                }
                for sn in nets where sn.name != "default" && networks[sn.name] == nil {
                    throw err(v, kk, "refers to undefined network \(sn.name): invalid compose project")
                }
            case "network_mode": s.networkMode = try str(v, kk)
            case "labels": s.labels = Dictionary(try pairs(v, kk).map { ($0.0, $0.1 ?? "") }, uniquingKeysWith: { _, b in b })
            case "stop_signal": s.stopSignal = try str(v, kk)
            case "stop_grace_period": s.stopGracePeriod = try duration(v, kk)
            case "tty": s.tty = try bool(v, kk)
            case "stdin_open": s.stdinOpen = try bool(v, kk)
            case "init": s.initProcess = try bool(v, kk)
            case "read_only": s.readOnly = try bool(v, kk)
            case "privileged": if try bool(v, kk) { s.capAdd.append("ALL") }
            case "security_opt": break
            case "devices": s.devices = try strList(v, kk)
            case "group_add": s.groupAdd = try strList(v, kk)
            case "shm_size": s.shmSize = try str(v, kk)
            case "sysctls": s.sysctls = try pairs(v, kk).map { "\($0.0)=\($0.1 ?? "")" }
            case "secrets": s.files += try fileMounts(.secret, v, kk, defs: files[.secret] ?? [:])
            case "configs": s.files += try fileMounts(.config, v, kk, defs: files[.config] ?? [:])
            case "ulimits":
                // nofile: 20000, or nofile: {soft: 20000, hard: 40000}
                for (limit, spec) in try mapping(v, kk) {
                    if isScalar(spec) {
                        s.ulimits.append("\(limit)=\(try int(spec, kk + "." + limit))")
                    } else {
                        let m = try mapping(spec, kk + "." + limit)
                        try checkKeys(m, ["soft", "hard"], kk + "." + limit)
                        guard let soft = m.first(where: { $0.0 == "soft" }), let hard = m.first(where: { $0.0 == "hard" }) else {
                            throw err(spec, kk + "." + limit, "needs soft and hard")
                        }
                        s.ulimits.append("\(limit)=\(try int(soft.1, kk + "." + limit + ".soft")):\(try int(hard.1, kk + "." + limit + ".hard"))")
                    }
                }
            case "cap_add": s.capAdd += try strList(v, kk)
            case "cap_drop": s.capDrop = try strList(v, kk)
            case "profiles": s.profiles = try strList(v, kk)
            case "extra_hosts":
                s.extraHosts = try pairs(v, kk).map { p in
                    // list entries are HOST:IP (or HOST=IP); a mapping is HOST: IP
                    if let val = p.1 { return "\(p.0):\(val)" }
                    return p.0
                }
            case "dns": s.dns = isScalar(v) ? [try str(v, kk)] : try strList(v, kk)
            case "mem_limit": s.memLimit = try str(v, kk)
            case "cpus": s.cpus = try str(v, kk)
            case "pids_limit": s.pidsLimit = try int(v, kk)
            case "logging":
                let lm = try mapping(v, kk)
                try checkKeys(lm, ["driver", "options"], kk)
                for (lk, lv) in lm {
                    if lk == "driver", try str(lv, kk + ".driver") != "json-file" {
                        throw err(lv, kk + ".driver", "only json-file is supported")
                    }
                    if lk == "options" { for (ok, ov) in try pairs(lv, kk + ".options") { s.logOptions[ok] = ov ?? "" } }
                }
            case "scale":
                s.scale = try int(v, kk)
                guard s.scale >= 0 else { throw err(v, kk, "must be 0 or more") }
            case "deploy":
                let dm = try mapping(v, kk)
                for (dk, dv) in dm {
                    if dk == "replicas" {
                        s.scale = try int(dv, kk + ".replicas")
                        guard s.scale >= 0 else { throw err(dv, kk + ".replicas", "must be 0 or more") }
                        continue
                    }
                    guard dk == "resources" else { throw err(dv, kk + "." + dk, "is not supported by swiftrun yet (only deploy.resources.limits and deploy.replicas)") }
                    for (rk, rv) in try mapping(dv, kk + ".resources") where rk == "limits" {
                        for (lk, lv) in try mapping(rv, kk + ".resources.limits") {
                            switch lk {
                            case "memory": s.memLimit = try str(lv, kk + ".resources.limits.memory")
                            case "cpus": s.cpus = try str(lv, kk + ".resources.limits.cpus")
                            case "pids": s.pidsLimit = try int(lv, kk + ".resources.limits.pids")
                            default: throw err(lv, kk + ".resources.limits." + lk, "is not supported")
                            }
                        }
                    }
                }
            case "platform":
                let p = try str(v, kk)
                guard p == "linux/amd64" else { throw err(v, kk, "\(p): only linux/amd64 runs here") }
            case "pull_policy": break
            default: break
            }
        }
        // env_file first (later files win), then environment; `KEY` alone takes the shell's value.
        var envOut: [String] = []
        func put(_ k: String, _ v: String) {
            envOut.removeAll { $0.hasPrefix(k + "=") }
            envOut.append("\(k)=\(v)")
        }
        for (path, required) in envFiles {
            if !Files.exists(path) {
                if required { throw err(envFilesNode ?? n, key + ".env_file", "\(path) not found") }
                continue
            }
            for (k, v) in try Loader.parseEnvFile(path) { put(k, v) }
        }
        for (k, v) in environment {
            if let v { put(k, v) } else if let shell = env[k] { put(k, shell) }
        }
        s.environment = envOut
        if s.networkMode == nil { s.networks = nets.isEmpty ? [ServiceNetwork(name: "default", aliases: [])] : nets }
        if !partial && s.image == nil && s.build == nil {
            throw err(n, key, "has neither an image nor a build context specified: at least one must be provided")
        }
        if s.containerName != nil && s.scale > 1 {
            throw err(n, key, "container_name \"\(s.containerName!)\" names one container, but the service scales to \(s.scale): remove one of them")
        }
        return s
    }

    func health(_ n: Node, _ key: String) throws -> HealthDef {
        let m = try mapping(n, key)
        try checkKeys(m, ["test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"], key)
        var h = HealthDef()
        for (k, v) in m {
            switch k {
            case "test":
                if isScalar(v) {
                    let t = try str(v, key + ".test")
                    h.test = t == "NONE" ? ["NONE"] : ["CMD-SHELL", t]
                } else {
                    let t = try strList(v, key + ".test")
                    guard let f = t.first, ["CMD", "CMD-SHELL", "NONE"].contains(f) else {
                        throw err(v, key + ".test", "a list must start with CMD, CMD-SHELL or NONE")
                    }
                    h.test = t
                }
            case "interval": h.interval = try duration(v, key + ".interval")
            case "timeout": h.timeout = try duration(v, key + ".timeout")
            case "start_period": h.startPeriod = try duration(v, key + ".start_period")
            case "start_interval": h.startInterval = try duration(v, key + ".start_interval")
            case "retries": h.retries = try int(v, key + ".retries")
            case "disable": h.disable = try bool(v, key + ".disable")
            default: break
            }
        }
        return h
    }

    /// Short (`[HOST_IP:][PUBLISHED:]TARGET[/PROTO]`) or long syntax → a `-p` string.
    func port(_ n: Node, _ key: String) throws -> String {
        if isScalar(n) { return try str(n, key) }
        let m = try mapping(n, key)
        try checkKeys(m, ["target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"], key)
        var target = "", published = "", ip = "", proto = "tcp"
        for (k, v) in m {
            switch k {
            case "target": target = try str(v, key + ".target")
            case "published": published = try str(v, key + ".published")
            case "host_ip": ip = try str(v, key + ".host_ip")
            case "protocol": proto = try str(v, key + ".protocol")
            default: break
            }
        }
        guard !target.isEmpty else { throw err(n, key, "needs a target port") }
        return (ip.isEmpty ? "" : ip + ":") + (published.isEmpty ? "" : published + ":") + target + "/" + proto
    }

    /// A volume entry → `-v` (bind or named) or `--tmpfs`.
    func mount(_ n: Node, _ key: String, volumes: [String: VolumeDef], into s: inout Service) throws {
        func named(_ src: String) throws -> String {
            guard let v = volumes[src] else {
                throw err(n, key, "service \"\(s.name)\" refers to undefined volume \(src): invalid compose project")
            }
            return v.name
        }
        if isScalar(n) {
            let spec = try str(n, key)
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            switch parts.count {
            case 1: s.volumes.append(parts[0])
            case 2, 3:
                let src = parts[0]
                let host = src.hasPrefix("/") || src.hasPrefix(".") || src.hasPrefix("~")
                let source = host ? absolute(src) : try named(src)
                s.volumes.append(([source, parts[1]] + (parts.count == 3 ? [parts[2]] : [])).joined(separator: ":"))
            default: throw err(n, key, "invalid volume specification \"\(spec)\"")
            }
            return
        }
        let m = try mapping(n, key)
        try checkKeys(m, ["type", "source", "target", "read_only", "volume", "bind", "tmpfs", "consistency"], key)
        var type = "volume", source = "", target = "", ro = false
        var size: String?
        for (k, v) in m {
            switch k {
            case "type": type = try str(v, key + ".type")
            case "source": source = try str(v, key + ".source")
            case "target": target = try str(v, key + ".target")
            case "read_only": ro = try bool(v, key + ".read_only")
            case "tmpfs":
                if let sz = try mapping(v, key + ".tmpfs").first(where: { $0.0 == "size" }) { size = try str(sz.1, key + ".tmpfs.size") }
            default: break
            }
        }
        guard !target.isEmpty else { throw err(n, key, "needs a target") }
        switch type {
        case "bind": s.volumes.append("\(absolute(source)):\(target)\(ro ? ":ro" : "")")
        case "volume": s.volumes.append(source.isEmpty ? target : "\(try named(source)):\(target)\(ro ? ":ro" : "")")
        case "tmpfs": s.tmpfs.append(target + (size.map { ":size=\($0)" } ?? ""))
        default: throw err(n, key + ".type", "\"\(type)\" is not supported: use volume, bind or tmpfs")
        }
    }

    /// go-shellwords as compose splits a string command: blanks separate, quotes group,
    /// a backslash escapes; nothing is expanded.
    static func shellWords(_ s: String, key: String) throws -> [String] {
        var out: [String] = []
        var cur = ""
        var inWord = false
        var quote: Character?
        var esc = false
        for c in s {
            if esc { cur.append(c); esc = false; inWord = true; continue }
            if c == "\\" && quote != "'" { esc = true; continue }
            if let q = quote {
                if c == q { quote = nil } else { cur.append(c) }
                continue
            }
            if c == "'" || c == "\"" { quote = c; inWord = true; continue }
            if c == " " || c == "\t" || c == "\n" {
                if inWord { out.append(cur); cur = ""; inWord = false }
                continue
            }
            cur.append(c)
            inWord = true
        }
        if quote != nil { throw ComposeError("\(key): unterminated quote in \"\(s)\"") }
        if inWord { out.append(cur) }
        return out
    }
}

enum DockerIgnoreClean {
    /// filepath.Clean for an absolute path.
    static func clean(_ p: String) -> String {
        var out: [Substring] = []
        for c in p.split(separator: "/") {
            if c == "." { continue }
            if c == ".." { if !out.isEmpty { out.removeLast() }; continue }
            out.append(c)
        }
        return "/" + out.joined(separator: "/")
    }
}
