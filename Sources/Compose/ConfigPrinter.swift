import Engine
import Yams

/// `compose config`: the project as resolved (interpolated, merged, paths absolute), in
/// YAML, for a user to check what `up` will do.
public enum ConfigPrinter {
    public static func yaml(_ p: Project) -> String {
        func scalar(_ s: String) -> Node { Node(s, .implicit, .doubleQuoted) }
        func list(_ l: [String]) -> Node { .sequence(Node.Sequence(l.map(scalar))) }
        func map(_ pairs: [(String, Node)]) -> Node { .mapping(Node.Mapping(pairs.map { (Node($0.0), $0.1) })) }
        var services: [(String, Node)] = []
        for s in p.services {
            var m: [(String, Node)] = []
            if let i = s.image { m.append(("image", scalar(i))) }
            if let b = s.build {
                var bm: [(String, Node)] = [("context", scalar(b.context))]
                if let d = b.dockerfile { bm.append(("dockerfile", scalar(d))) }
                if let t = b.target { bm.append(("target", scalar(t))) }
                if !b.args.isEmpty { bm.append(("args", map(b.args.sorted { $0.key < $1.key }.map { ($0.key, scalar($0.value)) }))) }
                m.append(("build", map(bm)))
            }
            if let e = s.entrypoint { m.append(("entrypoint", list(e))) }
            if let c = s.command { m.append(("command", list(c))) }
            if !s.environment.isEmpty {
                m.append(("environment", map(s.environment.map { kv in
                    let eq = kv.firstIndex(of: "=")!
                    return (String(kv[..<eq]), scalar(String(kv[kv.index(after: eq)...])))
                })))
            }
            if !s.ports.isEmpty { m.append(("ports", list(s.ports))) }
            if !s.volumes.isEmpty { m.append(("volumes", list(s.volumes))) }
            if !s.dependsOn.isEmpty {
                m.append(("depends_on", map(s.dependsOn.map { ($0.service, map([("condition", Node($0.condition.rawValue)), ("required", Node($0.required ? "true" : "false"))])) })))
            }
            if let h = s.healthcheck {
                var hm: [(String, Node)] = []
                if let t = h.test { hm.append(("test", list(t))) }
                if let v = h.interval { hm.append(("interval", Node(GoDuration.format(v)))) }
                if let v = h.timeout { hm.append(("timeout", Node(GoDuration.format(v)))) }
                if let v = h.retries { hm.append(("retries", Node(String(v)))) }
                if let v = h.startPeriod { hm.append(("start_period", Node(GoDuration.format(v)))) }
                if h.disable { hm.append(("disable", Node("true"))) }
                m.append(("healthcheck", map(hm)))
            }
            // Secrets and configs by name and target: their content is never printed.
            for kind in [FileMount.Kind.secret, .config] where s.files.contains(where: { $0.kind == kind }) {
                m.append((kind.rawValue + "s", .sequence(Node.Sequence(s.files.filter { $0.kind == kind }.map {
                    map([("source", scalar($0.name)), ("target", scalar($0.target))])
                }))))
            }
            if !s.ulimits.isEmpty {
                m.append(("ulimits", map(s.ulimits.map { u in
                    let kv = u.split(separator: "=", maxSplits: 1).map(String.init)
                    let sh = kv[1].split(separator: ":").map(String.init)
                    return (kv[0], sh.count == 2 ? map([("soft", Node(sh[0])), ("hard", Node(sh[1]))]) : Node(sh[0]))
                })))
            }
            if let r = s.restart { m.append(("restart", scalar(r))) }
            if let u = s.user { m.append(("user", scalar(u))) }
            if let w = s.workingDir { m.append(("working_dir", scalar(w))) }
            if s.networkMode == nil {
                m.append(("networks", map(s.networks.map { ($0.name, $0.aliases.isEmpty ? Node("null", .implicit) : map([("aliases", list($0.aliases))])) })))
            } else {
                m.append(("network_mode", scalar(s.networkMode!)))
            }
            services.append((s.name, map(m)))
        }
        var top: [(String, Node)] = [("name", scalar(p.name)), ("services", map(services))]
        if !p.networks.isEmpty {
            top.append(("networks", map(p.networks.sorted { $0.key < $1.key }.map { ($0.key, map([("name", scalar($0.value.name))] + ($0.value.external ? [("external", Node("true"))] : []))) })))
        }
        if !p.volumes.isEmpty {
            top.append(("volumes", map(p.volumes.sorted { $0.key < $1.key }.map { ($0.key, map([("name", scalar($0.value.name))] + ($0.value.external ? [("external", Node("true"))] : []))) })))
        }
        return (try? Yams.serialize(node: map(top))) ?? ""
    }
}
