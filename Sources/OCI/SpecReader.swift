/// config.json read straight from the parsed tree, without Codable: the first Codable
/// decode in a process instantiates generic metadata for every container and key type
/// (KeyedDecodingContainer<Spec.Process.CodingKeys>, its box, Optional<[Spec.Mount]>...),
/// about 0.3 ms of each `swiftrun-runc run`, against 0.05 ms for this walk. Anything it
/// does not take (a missing required field, a wrong type) falls back to the Codable
/// decoder, so errors read the same; SpecReaderTests keeps the two in step.
extension JSON {
    public static func decodeSpec(_ bytes: [UInt8], what: String) throws -> Spec {
        if let tree = try? Parser.parse(bytes), case .object(let d, _) = tree, let spec = try? Spec(SpecObject(d)) {
            return spec
        }
        return try decode(Spec.self, from: bytes, what: what)
    }
}

struct SpecReadError: Error {}

/// One JSON object; absent and null read as nil, anything else of the wrong kind throws.
struct SpecObject {
    let d: [String: JSONValue]
    init(_ d: [String: JSONValue]) { self.d = d }

    private func node(_ k: String) -> JSONValue? {
        guard let n = d[k] else { return nil }
        if case .null = n { return nil }
        return n
    }
    func req<T>(_ v: T?) throws -> T {
        guard let v else { throw SpecReadError() }
        return v
    }

    func str(_ k: String) throws -> String? {
        guard let n = node(k) else { return nil }
        guard case .string(let s) = n else { throw SpecReadError() }
        return s
    }
    func bool(_ k: String) throws -> Bool? {
        guard let n = node(k) else { return nil }
        guard case .bool(let b) = n else { throw SpecReadError() }
        return b
    }
    func int<I: FixedWidthInteger>(_ k: String, _: I.Type = I.self) throws -> I? {
        guard let n = node(k) else { return nil }
        return try Self.int(n)
    }
    static func int<I: FixedWidthInteger>(_ n: JSONValue) throws -> I {
        guard case .number(let s) = n else { throw SpecReadError() }
        if let v = I(s) { return v }
        if let x = Double(s), x == x.rounded(), let v = I(exactly: x) { return v }
        throw SpecReadError()
    }
    func strs(_ k: String) throws -> [String]? {
        try array(k) { n in
            guard case .string(let s) = n else { throw SpecReadError() }
            return s
        }
    }
    func ints<I: FixedWidthInteger>(_ k: String, _: I.Type) throws -> [I]? {
        try array(k) { try Self.int($0) }
    }
    func strMap(_ k: String) throws -> [String: String]? {
        guard let n = node(k) else { return nil }
        guard case .object(let o, _) = n else { throw SpecReadError() }
        return try o.mapValues { v in
            guard case .string(let s) = v else { throw SpecReadError() }
            return s
        }
    }
    func obj(_ k: String) throws -> SpecObject? {
        guard let n = node(k) else { return nil }
        guard case .object(let o, _) = n else { throw SpecReadError() }
        return SpecObject(o)
    }
    func objs<T>(_ k: String, _ make: (SpecObject) throws -> T) throws -> [T]? {
        try array(k) { n in
            guard case .object(let o, _) = n else { throw SpecReadError() }
            return try make(SpecObject(o))
        }
    }
    private func array<T>(_ k: String, _ each: (JSONValue) throws -> T) throws -> [T]? {
        guard let n = node(k) else { return nil }
        guard case .array(let a) = n else { throw SpecReadError() }
        return try a.map(each)
    }
}

extension Spec {
    init(_ o: SpecObject) throws {
        self.init(ociVersion: try o.req(o.str("ociVersion")), process: try o.obj("process").map(Process.init),
                  root: try o.obj("root").map(Root.init), hostname: try o.str("hostname"), domainname: try o.str("domainname"),
                  mounts: try o.objs("mounts", Mount.init), hooks: try o.obj("hooks").map(Hooks.init),
                  annotations: try o.strMap("annotations"), linux: try o.obj("linux").map(Linux.init))
    }
}

extension Spec.Process {
    init(_ o: SpecObject) throws {
        self.init(terminal: try o.bool("terminal"), user: try Spec.User(try o.req(o.obj("user"))), args: try o.strs("args"),
                  env: try o.strs("env"), cwd: try o.req(o.str("cwd")), capabilities: try o.obj("capabilities").map(Spec.Capabilities.init),
                  rlimits: try o.objs("rlimits", Spec.Rlimit.init), noNewPrivileges: try o.bool("noNewPrivileges"),
                  oomScoreAdj: try o.int("oomScoreAdj"))
        consoleSize = try o.obj("consoleSize").map { try Spec.Box(height: $0.req($0.int("height")), width: $0.req($0.int("width"))) }
        commandLine = try o.str("commandLine")
        apparmorProfile = try o.str("apparmorProfile")
        selinuxLabel = try o.str("selinuxLabel")
    }
}

extension Spec.User {
    init(_ o: SpecObject) throws {
        self.init(uid: try o.req(o.int("uid")), gid: try o.req(o.int("gid")), umask: try o.int("umask"),
                  additionalGids: try o.ints("additionalGids", UInt32.self))
        username = try o.str("username")
    }
}

extension Spec.Capabilities {
    init(_ o: SpecObject) throws {
        self.init(bounding: try o.strs("bounding"), effective: try o.strs("effective"), inheritable: try o.strs("inheritable"),
                  permitted: try o.strs("permitted"), ambient: try o.strs("ambient"))
    }
}

extension Spec.Rlimit {
    init(_ o: SpecObject) throws {
        self.init(type: try o.req(o.str("type")), hard: try o.req(o.int("hard")), soft: try o.req(o.int("soft")))
    }
}

extension Spec.Root {
    init(_ o: SpecObject) throws {
        self.init(path: try o.req(o.str("path")), readonly: try o.bool("readonly"))
    }
}

extension Spec.Mount {
    init(_ o: SpecObject) throws {
        self.init(destination: try o.req(o.str("destination")), type: try o.str("type"), source: try o.str("source"),
                  options: try o.strs("options"))
        uidMappings = try o.objs("uidMappings", Spec.IDMapping.init)
        gidMappings = try o.objs("gidMappings", Spec.IDMapping.init)
    }
}

extension Spec.Hook {
    init(_ o: SpecObject) throws {
        self.init(path: try o.req(o.str("path")), args: try o.strs("args"), env: try o.strs("env"), timeout: try o.int("timeout"))
    }
}

extension Spec.Hooks {
    init(_ o: SpecObject) throws {
        self.init()
        prestart = try o.objs("prestart", Spec.Hook.init)
        createRuntime = try o.objs("createRuntime", Spec.Hook.init)
        createContainer = try o.objs("createContainer", Spec.Hook.init)
        startContainer = try o.objs("startContainer", Spec.Hook.init)
        poststart = try o.objs("poststart", Spec.Hook.init)
        poststop = try o.objs("poststop", Spec.Hook.init)
    }
}

extension Spec.Linux {
    init(_ o: SpecObject) throws {
        self.init()
        uidMappings = try o.objs("uidMappings", Spec.IDMapping.init)
        gidMappings = try o.objs("gidMappings", Spec.IDMapping.init)
        sysctl = try o.strMap("sysctl")
        resources = try o.obj("resources").map(Spec.Resources.init)
        cgroupsPath = try o.str("cgroupsPath")
        namespaces = try o.objs("namespaces") { try Spec.Namespace(type: $0.req($0.str("type")), path: $0.str("path")) }
        devices = try o.objs("devices") { d in
            try Spec.Device(type: d.req(d.str("type")), path: d.req(d.str("path")), major: d.int("major"), minor: d.int("minor"),
                            fileMode: d.int("fileMode"), uid: d.int("uid"), gid: d.int("gid"))
        }
        seccomp = try o.obj("seccomp").map(Spec.Seccomp.init)
        rootfsPropagation = try o.str("rootfsPropagation")
        maskedPaths = try o.strs("maskedPaths")
        readonlyPaths = try o.strs("readonlyPaths")
        mountLabel = try o.str("mountLabel")
        personality = try o.obj("personality").map { try Spec.Personality(domain: $0.req($0.str("domain")), flags: $0.strs("flags")) }
    }
}

extension Spec.IDMapping {
    init(_ o: SpecObject) throws {
        self.init(containerID: try o.req(o.int("containerID")), hostID: try o.req(o.int("hostID")), size: try o.req(o.int("size")))
    }
}

extension Spec.Resources {
    init(_ o: SpecObject) throws {
        self.init()
        devices = try o.objs("devices") { r in
            try DeviceRule(allow: r.req(r.bool("allow")), type: r.str("type"), major: r.int("major"), minor: r.int("minor"),
                           access: r.str("access"))
        }
        memory = try o.obj("memory").map { m in
            var v = Memory()
            v.limit = try m.int("limit")
            v.reservation = try m.int("reservation")
            v.swap = try m.int("swap")
            v.kernel = try m.int("kernel")
            v.kernelTCP = try m.int("kernelTCP")
            v.swappiness = try m.int("swappiness")
            v.disableOOMKiller = try m.bool("disableOOMKiller")
            v.useHierarchy = try m.bool("useHierarchy")
            v.checkBeforeUpdate = try m.bool("checkBeforeUpdate")
            return v
        }
        cpu = try o.obj("cpu").map { c in
            var v = CPU()
            v.shares = try c.int("shares")
            v.quota = try c.int("quota")
            v.burst = try c.int("burst")
            v.period = try c.int("period")
            v.realtimeRuntime = try c.int("realtimeRuntime")
            v.realtimePeriod = try c.int("realtimePeriod")
            v.cpus = try c.str("cpus")
            v.mems = try c.str("mems")
            v.idle = try c.int("idle")
            return v
        }
        pids = try o.obj("pids").map { try Pids(limit: $0.req($0.int("limit"))) }
        blockIO = try o.obj("blockIO").map { try BlockIO(weight: $0.int("weight"), leafWeight: $0.int("leafWeight")) }
        hugepageLimits = try o.objs("hugepageLimits") { try HugepageLimit(pageSize: $0.req($0.str("pageSize")), limit: $0.req($0.int("limit"))) }
        unified = try o.strMap("unified")
    }
}

extension Spec.Seccomp {
    init(_ o: SpecObject) throws {
        self.init(defaultAction: try o.req(o.str("defaultAction")), defaultErrnoRet: try o.int("defaultErrnoRet"),
                  architectures: try o.strs("architectures"), flags: try o.strs("flags"),
                  syscalls: try o.objs("syscalls") { s in
                      try Syscall(names: s.req(s.strs("names")), action: s.req(s.str("action")), errnoRet: s.int("errnoRet"),
                                  args: s.objs("args") { a in
                                      try Arg(index: a.req(a.int("index")), value: a.req(a.int("value")), valueTwo: a.int("valueTwo"),
                                              op: a.req(a.str("op")))
                                  })
                  })
        listenerPath = try o.str("listenerPath")
        listenerMetadata = try o.str("listenerMetadata")
    }
}
