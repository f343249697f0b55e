import OCI

/// Image config + the user's flags → what the container runs, with Docker's rules.
/// Pure: the image's /etc/passwd and /etc/group come in as text (nil: the image has none).
public struct RunConfig: Equatable {
    public var args: [String]
    public var env: [String]
    public var cwd: String
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGids: [UInt32]
    public var stopSignal: String
    public var exposedPorts: [String]
    public var volumes: [String]
    public var labels: [String: String]
    public var healthcheck: ImageConfig.Healthcheck?
    public var shell: [String]

    public struct Overrides {
        public var command: [String] = []        // run IMAGE COMMAND...
        public var entrypoint: String?           // --entrypoint ("" clears it)
        public var env: [String] = []            // -e KEY=VAL or KEY
        public var workdir: String?              // -w
        public var user: String?                 // -u
        public var groupAdd: [String] = []       // --group-add NAME|GID
        public init() {}
    }

    public struct ConfigError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    public static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// - callerEnv: the environment `-e KEY` (no value) takes its value from.
    public static func resolve(_ image: ImageConfig.ContainerConfig?, _ o: Overrides, passwd: String?, group: String?,
                               callerEnv: [String: String] = [:]) throws -> RunConfig {
        let c = image ?? ImageConfig.ContainerConfig()
        // ENTRYPOINT + CMD: command-line args replace CMD; --entrypoint replaces ENTRYPOINT and clears CMD.
        var entrypoint = c.Entrypoint ?? []
        var cmd = c.Cmd ?? []
        if let ep = o.entrypoint {
            entrypoint = ep.isEmpty ? [] : [ep]
            cmd = []
        }
        if !o.command.isEmpty { cmd = o.command }
        let args = entrypoint + cmd
        guard !args.isEmpty else { throw ConfigError(description: "no command specified: the image has no CMD or ENTRYPOINT; give one after the image name") }

        var env = c.Env ?? []
        func set(_ kv: String) {
            let key = String(kv.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0])
            env.removeAll { $0 == key || $0.hasPrefix(key + "=") }
            env.append(kv)
        }
        for e in o.env {
            if e.contains("=") {
                guard !e.hasPrefix("=") else { throw ConfigError(description: "invalid environment variable \"\(e)\": no name") }
                set(e)
            } else if let v = callerEnv[e] {
                set(e + "=" + v)
            } else {
                env.removeAll { $0 == e || $0.hasPrefix(e + "=") } // unset in the caller: not passed
            }
        }
        if !env.contains(where: { $0.hasPrefix("PATH=") }) { env.insert(defaultPath, at: 0) }

        let cwd = o.workdir ?? (c.WorkingDir?.isEmpty == false ? c.WorkingDir! : "/")
        guard cwd.hasPrefix("/") else {
            throw ConfigError(description: "the working directory '\(cwd)' is invalid: it needs to be an absolute path")
        }

        let user = try resolveUser(o.user ?? c.User ?? "", passwd: passwd, group: group)
        // --group-add: names from the image's /etc/group, numbers as they are.
        var extra = user.groups
        for g in o.groupAdd {
            let gid: UInt32
            if let n = UInt32(g) { gid = n } else {
                guard let e = parseGroup(group).first(where: { $0.name == g }) else {
                    throw ConfigError(description: "--group-add \(g): unable to find group \(g): no matching entries in the image's /etc/group")
                }
                gid = e.gid
            }
            if gid != user.gid && !extra.contains(gid) { extra.append(gid) }
        }
        return RunConfig(args: args, env: env, cwd: cwd, uid: user.uid, gid: user.gid, additionalGids: extra,
                         stopSignal: c.StopSignal ?? "SIGTERM", exposedPorts: (c.ExposedPorts ?? [:]).keys.sorted(),
                         volumes: (c.Volumes ?? [:]).keys.sorted(), labels: c.Labels ?? [:],
                         healthcheck: c.Healthcheck, shell: c.Shell ?? ["/bin/sh", "-c"])
    }

    struct PasswdEntry { var name: String; var uid: UInt32; var gid: UInt32 }
    struct GroupEntry { var name: String; var gid: UInt32; var members: [String] }

    static func parsePasswd(_ text: String?) -> [PasswdEntry] {
        (text ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 4, !line.hasPrefix("#"), let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return PasswdEntry(name: String(f[0]), uid: uid, gid: gid)
        }
    }

    static func parseGroup(_ text: String?) -> [GroupEntry] {
        (text ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 3, !line.hasPrefix("#"), let gid = UInt32(f[2]) else { return nil }
            let members = f.count > 3 ? f[3].split(separator: ",").map(String.init) : []
            return GroupEntry(name: String(f[0]), gid: gid, members: members)
        }
    }

    /// USER forms: "", name, uid, name:group, uid:gid, name:gid, uid:group — against the image's
    /// own files, never the host's. Supplementary groups are those listing the user as member.
    public static func resolveUser(_ spec: String, passwd: String?, group: String?) throws -> (uid: UInt32, gid: UInt32, groups: [UInt32]) {
        let users = parsePasswd(passwd), groups = parseGroup(group)
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let u = parts.first ?? ""
        var uid: UInt32 = 0, gid: UInt32 = 0
        var name: String?
        if u.isEmpty {
            name = users.first { $0.uid == 0 }?.name ?? "root"
            gid = users.first { $0.uid == 0 }?.gid ?? 0
        } else if let n = UInt32(u) {
            uid = n
            if let e = users.first(where: { $0.uid == n }) { name = e.name; gid = e.gid }
        } else {
            guard let e = users.first(where: { $0.name == u }) else {
                throw ConfigError(description: "unable to find user \(u): no matching entries in the image's /etc/passwd")
            }
            uid = e.uid
            gid = e.gid
            name = e.name
        }
        if parts.count > 1 {
            let g = parts[1]
            if let n = UInt32(g) { gid = n }
            else {
                guard let e = groups.first(where: { $0.name == g }) else {
                    throw ConfigError(description: "unable to find group \(g): no matching entries in the image's /etc/group")
                }
                gid = e.gid
            }
        }
        var extra: [UInt32] = []
        if let name {
            for g in groups where g.members.contains(name) && g.gid != gid && !extra.contains(g.gid) { extra.append(g.gid) }
        }
        return (uid, gid, extra)
    }
}
