import Build
import Engine
import ImageImport
import ImageStore
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// What `compose up/down/ps/...` do with a project, through the engine: networks and
/// volumes first, images built, then containers created and started in dependency order,
/// each after its dependencies meet their condition (started, healthy as the supervisor
/// records it, or exited 0). Containers carry compose's labels, so `down` finds them
/// again with nothing else kept.
public final class Orchestrator {
    public let engine: Engine
    public let project: Project
    /// Compose's status lines (" Container x-api-1  Started"), on stderr.
    public var say: (String) -> Void = { _ in }
    /// A build's progress lines.
    public var buildProgress: (String) -> Void = { _ in }

    static let projectLabel = "com.docker.compose.project"
    static let serviceLabel = "com.docker.compose.service"
    static let numberLabel = "com.docker.compose.container-number"
    static let hashLabel = "com.docker.compose.config-hash"
    static let oneoffLabel = "com.docker.compose.oneoff"
    static let networkLabel = "com.docker.compose.network"
    static let volumeLabel = "com.docker.compose.volume"

    public init(engine: Engine, project: Project) {
        self.engine = engine
        self.project = project
    }

    func containerName(_ s: Service, _ number: Int = 1) -> String { s.containerName ?? "\(project.name)-\(s.name)-\(number)" }
    func imageName(_ s: Service) -> String { s.image ?? "\(project.name)-\(s.name)" }

    /// The project's containers (this root), by service.
    public func containers(all: Bool = true) -> [ContainerView] {
        engine.list().filter { v in
            v.container.Config.Labels[Self.projectLabel] == project.name && (all || v.state.Running)
                && v.container.Config.Labels[Self.oneoffLabel] != "True"
        }.sorted { $0.container.Name < $1.container.Name }
    }

    func container(_ s: Service) -> ContainerView? { replicas(s).first }

    /// A service's containers, by their number (1...scale).
    func replicas(_ s: Service, of all: [ContainerView]? = nil) -> [ContainerView] {
        (all ?? containers()).filter { $0.container.Config.Labels[Self.serviceLabel] == s.name }
            .sorted { Int($0.container.Config.Labels[Self.numberLabel] ?? "") ?? 0 < Int($1.container.Config.Labels[Self.numberLabel] ?? "") ?? 0 }
    }

    /// The services named (all when none) and, unless `noDeps`, what they depend on, in an
    /// order where each comes after its dependencies. A cycle is an error.
    public func ordered(_ names: [String], noDeps: Bool = false) throws -> [Service] {
        for n in names where project.service(n) == nil { throw ComposeError("no such service: \(n)") }
        var wanted = Set(names.isEmpty ? project.services.map(\.name) : names)
        if !noDeps {
            var stack = Array(wanted)
            while let n = stack.popLast() {
                for d in project.service(n)?.dependsOn ?? [] where project.service(d.service) != nil && wanted.insert(d.service).inserted {
                    stack.append(d.service)
                }
            }
        }
        var out: [Service] = []
        var state: [String: Int] = [:] // 1 visiting, 2 done
        func visit(_ n: String, _ path: [String]) throws {
            if state[n] == 2 { return }
            if state[n] == 1 { throw ComposeError("dependency cycle detected: \((path + [n]).joined(separator: " -> "))") }
            state[n] = 1
            guard let s = project.service(n) else { return }
            for d in s.dependsOn where wanted.contains(d.service) { try visit(d.service, path + [n]) }
            state[n] = 2
            out.append(s)
        }
        for s in project.services where wanted.contains(s.name) { try visit(s.name, []) }
        return out
    }

    // MARK: up

    public struct UpOptions {
        public var services: [String] = []
        public var build = false
        public var forceRecreate = false
        public var noDeps = false
        public var removeOrphans = false
        public var wait = false
        public var waitTimeoutNs: Int64?
        /// --scale SERVICE=N, over the file's scale.
        public var scale: [String: Int] = [:]
        public init() {}
    }

    public func up(_ o: UpOptions) throws {
        let services = try ordered(o.services, noDeps: o.noDeps)
        let orphans = containers().filter { v in project.service(v.container.Config.Labels[Self.serviceLabel] ?? "") == nil }
        if !orphans.isEmpty {
            if o.removeOrphans {
                for v in orphans { try removeContainer(v) }
            } else {
                say("WARN Found orphan containers (\(orphans.map(\.container.Name).joined(separator: ", "))) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.")
            }
        }
        try ensureNetworks(services)
        try ensureVolumes(services)
        try ensureImages(services, rebuild: o.build)
        for n in o.scale.keys where project.service(n) == nil { throw ComposeError("no such service: \(n)") }
        for s in services {
            try awaitDependencies(s)
            try startService(s, forceRecreate: o.forceRecreate, scale: o.scale[s.name] ?? s.scale)
        }
        if o.wait {
            let all = containers()
            for v in services.flatMap({ replicas($0, of: all) }) {
                if v.container.Config.Healthcheck != nil && v.container.Config.Healthcheck?.Test?.first != "NONE" {
                    let (ok, msg) = try engine.waitHealth(v.container.Id, .healthy, timeoutNs: o.waitTimeoutNs)
                    guard ok else { throw ComposeError("container \(v.container.Name) is \(msg.contains("unhealthy") ? "unhealthy" : "not healthy"): \(msg)") }
                    say(" Container \(v.container.Name)  Healthy")
                } else if !(try engine.view(v.container.Id).state.Running) {
                    throw ComposeError("container \(v.container.Name) exited (\(try engine.view(v.container.Id).state.ExitCode))")
                }
            }
        }
    }

    func ensureNetworks(_ services: [Service]) throws {
        let used = Set(services.flatMap { $0.networks.map(\.name) })
        for key in used.sorted() {
            guard let def = project.networks[key] else { continue }
            if (try? engine.networks.get(def.name)) != nil { continue }
            guard !def.external else {
                throw ComposeError("network \(def.name) declared as external, but could not be found: `swiftrun network create \(def.name)` first")
            }
            var labels = def.labels
            labels[Self.projectLabel] = project.name
            labels[Self.networkLabel] = key
            _ = try engine.networks.create(name: def.name, subnet: nil, isInternal: def.isInternal, labels: labels, now: Time.rfc3339Nano())
            say(" Network \(def.name)  Created")
        }
    }

    func ensureVolumes(_ services: [Service]) throws {
        let mentioned = Set(services.flatMap { $0.volumes.map { String($0.prefix { $0 != ":" }) } })
        for (key, def) in project.volumes.sorted(by: { $0.key < $1.key }) where mentioned.contains(def.name) {
            if (try? engine.volume(def.name)) != nil { continue }
            guard !def.external else {
                throw ComposeError("external volume \"\(def.name)\" not found: `swiftrun volume create \(def.name)` first")
            }
            var labels = def.labels
            labels[Self.projectLabel] = project.name
            labels[Self.volumeLabel] = key
            _ = try engine.createVolume(def.name, labels: labels)
            say(" Volume \(def.name)  Created")
        }
    }

    func ensureImages(_ services: [Service], rebuild: Bool) throws {
        for s in services {
            let name = imageName(s)
            if let b = s.build {
                if !rebuild, (try? engine.findImage(name)) != nil { continue }
                try build(s, b)
            } else if (try? engine.findImage(name)) == nil {
                throw ComposeError("service \"\(s.name)\": image \(name) is not in the store: `swiftrun pull \(name)` or `swiftrun load -i FILE` first")
            }
        }
    }

    public func build(_ s: Service, _ b: BuildDef) throws {
        say(" Service \(s.name)  Building")
        var o = Builder.Options(context: b.context)
        if let d = b.dockerfile { o.dockerfile = d.hasPrefix("/") ? d : b.context + "/" + d }
        o.target = b.target
        o.buildArgs = b.args
        o.tags = [imageName(s)]
        let builder = Builder(engine: engine)
        builder.progress = buildProgress
        _ = try builder.build(o)
        say(" Service \(s.name)  Built")
    }

    /// Waits until each dependency meets its condition; Docker compose's words when one fails.
    func awaitDependencies(_ s: Service) throws {
        for d in s.dependsOn {
            let reps = project.service(d.service).map { replicas($0) } ?? []
            guard let dep = project.service(d.service), !reps.isEmpty else {
                if d.required { throw ComposeError("dependency failed to start: service \(d.service) has no container") }
                continue
            }
            for v in reps { try awaitDependency(d, dep, v) }
        }
    }

    /// One container of a dependency, as the condition asks.
    func awaitDependency(_ d: DependsOn, _ dep: Service, _ v: ContainerView) throws {
        let id = v.container.Id
        switch d.condition {
        case .started:
            return
        case .healthy:
            guard let hc = v.container.Config.Healthcheck, hc.Test?.first != "NONE" else {
                throw ComposeError("dependency failed to start: container \(v.container.Name) has no healthcheck configured")
            }
            say(" Container \(v.container.Name)  Waiting")
            let (ok, msg) = try engine.waitHealth(id, .healthy, timeoutNs: nil)
            guard ok else {
                throw ComposeError(msg.contains("unhealthy") ? "dependency failed to start: container \(v.container.Name) is unhealthy"
                                                             : "dependency failed to start: \(msg)")
            }
            say(" Container \(v.container.Name)  Healthy")
        case .completed:
            say(" Container \(v.container.Name)  Waiting")
            let code = try engine.wait(id)
            guard code == 0 else {
                throw ComposeError("service \"\(dep.name)\" didn't complete successfully: exit \(code)")
            }
            say(" Container \(v.container.Name)  Exited")
        }
    }

    /// Makes the service `scale` containers: 1...scale (re)created or started as their
    /// definition says, the ones above removed (the highest numbers go first, as compose).
    func startService(_ s: Service, forceRecreate: Bool, scale: Int = 1) throws {
        let existing = replicas(s)
        for v in existing.reversed() where (Int(v.container.Config.Labels[Self.numberLabel] ?? "") ?? 1) > scale {
            try removeContainer(v)
        }
        for number in stride(from: 1, through: scale, by: 1) {
            try startReplica(s, number, existing.first { $0.container.Config.Labels[Self.numberLabel] == String(number) }, forceRecreate: forceRecreate)
        }
    }

    func startReplica(_ s: Service, _ number: Int, _ current: ContainerView?, forceRecreate: Bool) throws {
        let name = containerName(s, number)
        let image = try engine.findImage(imageName(s))
        let hash = configHash(s, imageID: image.id)
        if let v = current {
            if v.container.Config.Labels[Self.hashLabel] == hash && !forceRecreate {
                if v.state.Running { say(" Container \(name)  Running"); return }
                say(" Container \(name)  Starting")
                try engine.start(v.container.Id)
                say(" Container \(name)  Started")
                return
            }
            say(" Container \(name)  Recreate")
            try removeContainer(v, quiet: true)
            say(" Container \(name)  Recreated")
        } else {
            say(" Container \(name)  Creating")
        }
        var o = try options(s, image: imageName(s), name: name, hash: hash)
        o.labels[Self.numberLabel] = String(number)
        let c = try engine.create(o)
        // Further networks after the first, each with the service's aliases.
        for n in s.networks.dropFirst() {
            guard let def = project.networks[n.name] else { continue }
            try engine.connect(c.Id, network: def.name, aliases: [s.name] + n.aliases)
        }
        say(" Container \(name)  Created")
        say(" Container \(name)  Starting")
        try engine.start(c.Id)
        say(" Container \(name)  Started")
    }

    func removeContainer(_ v: ContainerView, quiet: Bool = false, timeout: Int? = nil) throws {
        if v.state.Running {
            if !quiet { say(" Container \(v.container.Name)  Stopping") }
            try engine.stop(v.container.Id, timeout: timeout)
            if !quiet { say(" Container \(v.container.Name)  Stopped") }
        }
        if !quiet { say(" Container \(v.container.Name)  Removing") }
        try engine.remove(v.container.Id, force: true, volumes: true)
        if !quiet { say(" Container \(v.container.Name)  Removed") }
    }

    /// The service as `run` flags would give it.
    func options(_ s: Service, image: String, name: String, hash: String) throws -> Engine.CreateOptions {
        var o = Engine.CreateOptions(image: image)
        o.name = name
        if let e = s.entrypoint {
            o.overrides.entrypoint = e.first ?? ""
            o.overrides.command = Array(e.dropFirst()) + (s.command ?? [])
        } else if let c = s.command {
            o.overrides.command = c
        }
        o.overrides.env = s.environment
        o.overrides.workdir = s.workingDir
        o.overrides.user = s.user
        o.hostname = s.hostname
        o.readOnly = s.readOnly
        o.interactive = s.stdinOpen
        o.tty = s.tty
        o.initProcess = s.initProcess
        o.restart = try Container.RestartPolicy.parse(s.restart ?? "no")
        o.stopSignal = s.stopSignal
        o.stopTimeout = s.stopGracePeriod.map { Int(($0 + 999_999_999) / 1_000_000_000) }
        var labels = s.labels
        labels[Self.projectLabel] = project.name
        labels[Self.serviceLabel] = s.name
        labels[Self.numberLabel] = "1"
        labels[Self.oneoffLabel] = "False"
        labels[Self.hashLabel] = hash
        labels["com.docker.compose.project.working_dir"] = project.directory
        labels["com.docker.compose.depends_on"] = s.dependsOn.map { "\($0.service):\($0.condition.rawValue):\($0.required)" }.joined(separator: ",")
        o.labels = labels
        o.logOptions = s.logOptions
        if let h = s.healthcheck {
            if h.disable || h.test == ["NONE"] {
                o.health.disable = true
            } else {
                o.health.test = h.test
                o.health.interval = h.interval
                o.health.timeout = h.timeout
                o.health.startPeriod = h.startPeriod
                o.health.startInterval = h.startInterval
                o.health.retries = h.retries
            }
        }
        if let mode = s.networkMode {
            if mode.hasPrefix("service:") {
                guard let other = project.service(String(mode.dropFirst(8))) else { throw ComposeError("service \(s.name): network_mode \(mode): no such service") }
                o.network = "container:" + containerName(other)
            } else {
                o.network = mode
            }
        } else if let first = s.networks.first, let def = project.networks[first.name] {
            o.network = def.name
            // Found by its service name (and container name) on the project's networks.
            o.aliases = [s.name] + first.aliases
        }
        o.publish = s.ports
        o.volumes = s.volumes + (try fileBinds(s))
        o.ulimits = s.ulimits
        o.shmSize = s.shmSize
        o.sysctls = s.sysctls
        o.tmpfs = s.tmpfs
        o.security.capAdd = s.capAdd
        o.security.capDrop = s.capDrop
        o.security.devices = s.devices
        o.overrides.groupAdd = s.groupAdd
        o.addHosts = s.extraHosts
        o.dns = s.dns
        o.resources.memory = s.memLimit
        o.resources.cpus = s.cpus
        o.resources.pidsLimit = s.pidsLimit.map(Int64.init)
        return o
    }

    /// Where compose keeps the secrets and configs it writes for a project (content from the
    /// environment or inline): in the store, root's, removed by `down`.
    var filesDir: String { engine.store.root + "/compose/" + project.name }

    /// A service's secrets and configs as read-only binds: a file source as it is; content
    /// written first (its mode, 0444 by default, and owner).
    func fileBinds(_ s: Service) throws -> [String] {
        try s.files.map { f in
            switch f.source {
            case .file(let path):
                return "\(path):\(f.target):ro"
            case .content(let text):
                let dir = filesDir + "/" + s.name + "/" + f.kind.rawValue + "s"
                try Files.mkdirAll(dir, mode: 0o700)
                let path = dir + "/" + f.name
                try Files.writeAtomic(path, Array(text.utf8), mode: 0o600)
                guard chown(path, f.uid ?? 0, f.gid ?? 0) == 0, chmod(path, mode_t(f.mode ?? 0o444)) == 0 else { throw SysError("chown/chmod", path) }
                return "\(path):\(f.target):ro"
            }
        }
    }

    /// What decides whether `up` recreates a container: everything of the service that
    /// reaches the container, and the image it runs.
    func configHash(_ s: Service, imageID: String) -> String {
        let parts: [String] = [
            imageID, s.command?.joined(separator: "\u{1}") ?? "-", s.entrypoint?.joined(separator: "\u{1}") ?? "-",
            s.environment.joined(separator: "\u{1}"), s.ports.joined(separator: "\u{1}"), s.volumes.joined(separator: "\u{1}"),
            s.tmpfs.joined(separator: "\u{1}"), "\(s.healthcheck.map { "\($0)" } ?? "-")", s.restart ?? "-", s.user ?? "-",
            s.workingDir ?? "-", s.hostname ?? "-", s.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1}"),
            s.stopSignal ?? "-", "\(s.stopGracePeriod ?? -1)", "\(s.tty)\(s.stdinOpen)\(s.initProcess)\(s.readOnly)",
            s.capAdd.joined(separator: ","), s.capDrop.joined(separator: ","),
            s.networks.map { "\($0.name)=\($0.aliases.joined(separator: ","))" }.joined(separator: ";"), s.networkMode ?? "-",
            s.extraHosts.joined(separator: ","), s.dns.joined(separator: ","), s.memLimit ?? "-", s.cpus ?? "-", "\(s.pidsLimit ?? -1)",
            s.logOptions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
            // A secret's content stays out of the hash (it is a label anyone with `inspect` reads).
            s.ulimits.joined(separator: ","), s.shmSize ?? "-", s.sysctls.joined(separator: ","), s.devices.joined(separator: ","), s.groupAdd.joined(separator: ","),
            s.files.map { f in
                let src: String
                if case .file(let p) = f.source { src = p } else { src = "content" }
                return "\(f.kind.rawValue):\(f.name):\(src):\(f.target):\(f.uid ?? 0):\(f.gid ?? 0):\(f.mode ?? 0o444)"
            }.joined(separator: ";"),
        ]
        return String(ImageStore.digest(Array(parts.joined(separator: "\u{0}").utf8)).dropFirst(7))
    }

    // MARK: run

    public struct OneOff {
        public var command: [String]?
        public var entrypoint: String?
        public var env: [String] = []
        public var user: String?
        public var workdir: String?
        public var name: String?
        public var servicePorts = false
        public var tty = false
        public var interactive = false
        public var autoRemove = false
        public init() {}
    }

    /// `compose run`: its dependencies up (unless `noDeps`), then a one-off container of the
    /// service (PROJECT-SERVICE-run-XXXXXX, no published ports unless asked), created.
    public func createOneOff(_ s: Service, _ r: OneOff, noDeps: Bool) throws -> String {
        if !noDeps && !s.dependsOn.isEmpty {
            var u = UpOptions()
            u.services = s.dependsOn.map(\.service).filter { project.service($0) != nil }
            try up(u)
            try awaitDependencies(s)
        }
        try ensureNetworks([s])
        try ensureVolumes([s])
        try ensureImages([s], rebuild: false)
        let image = try engine.findImage(imageName(s))
        var o = try options(s, image: imageName(s), name: r.name ?? "\(project.name)-\(s.name)-run-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))",
                            hash: configHash(s, imageID: image.id))
        if let e = r.entrypoint { o.overrides.entrypoint = e; o.overrides.command = r.command ?? [] } else if let c = r.command, !c.isEmpty {
            if let e = s.entrypoint { o.overrides.command = Array(e.dropFirst()) + c } else { o.overrides.command = c }
        }
        o.overrides.env += r.env
        if let u = r.user { o.overrides.user = u }
        if let w = r.workdir { o.overrides.workdir = w }
        if !r.servicePorts { o.publish = [] }
        o.tty = r.tty
        o.interactive = r.interactive
        o.autoRemove = r.autoRemove
        o.restart = try Container.RestartPolicy.parse("no")
        o.labels[Self.oneoffLabel] = "True"
        return try engine.create(o).Id
    }

    // MARK: down, stop, start

    /// `down --rmi`: local, the images compose built (services without an `image:`); all,
    /// every image the services use.
    public enum RemoveImages: String { case local, all }

    public func down(volumes: Bool, removeOrphans: Bool, timeout: Int?, rmi: RemoveImages? = nil) throws {
        // Dependents first (the reverse of up), then what no service of the file names.
        let order = (try? ordered([]).map(\.name)) ?? project.services.map(\.name)
        let all = containers()
        for name in order.reversed() {
            for v in all where v.container.Config.Labels[Self.serviceLabel] == name { try removeContainer(v, timeout: timeout) }
        }
        if removeOrphans {
            for v in all where !order.contains(v.container.Config.Labels[Self.serviceLabel] ?? "") { try removeContainer(v, timeout: timeout) }
        }
        for (key, def) in project.networks.sorted(by: { $0.key < $1.key }) where !def.external {
            guard let n = try? engine.networks.get(def.name), n.Labels[Self.projectLabel] == project.name else { continue }
            _ = key
            say(" Network \(def.name)  Removing")
            try engine.networks.remove(n)
            say(" Network \(def.name)  Removed")
        }
        if let rmi {
            var seen = Set<String>()
            for s in project.services where rmi == .all || s.image == nil {
                let name = imageName(s)
                guard seen.insert(name).inserted, (try? engine.store.find(name)) != nil else { continue }
                say(" Image \(name)  Removing")
                _ = try engine.store.remove(name)
                say(" Image \(name)  Removed")
            }
        }
        try? Files.removeTree(filesDir)
        if volumes {
            for (_, def) in project.volumes.sorted(by: { $0.key < $1.key }) where !def.external {
                guard (try? engine.volume(def.name)) != nil else { continue }
                say(" Volume \(def.name)  Removing")
                try engine.removeVolume(def.name)
                say(" Volume \(def.name)  Removed")
            }
        }
    }

    /// Dependents before what they depend on, as compose does; services of one level at
    /// once, so one slow to stop (its grace period) does not hold up the others.
    public func stop(_ names: [String], timeout: Int?) throws {
        let order = try ordered(names, noDeps: true)
        let all = containers()
        var depth: [String: Int] = [:]
        for s in order { depth[s.name] = 1 + (s.dependsOn.compactMap { depth[$0.service] }.max() ?? -1) }
        for level in Set(depth.values).sorted(by: >) {
            let views = order.filter { depth[$0.name] == level }.flatMap { replicas($0, of: all) }.filter(\.state.Running)
            let sayLock = Lock()
            try parallelForEach(views.count, width: views.count) { i in
                let v = views[i]
                sayLock.locked { self.say(" Container \(v.container.Name)  Stopping") }
                try self.engine.stop(v.container.Id, timeout: timeout)
                sayLock.locked { self.say(" Container \(v.container.Name)  Stopped") }
            }
        }
    }

    public func start(_ names: [String]) throws {
        for s in try ordered(names, noDeps: true) {
            let stopped = replicas(s).filter { !$0.state.Running }
            guard !stopped.isEmpty else { continue }
            try awaitDependencies(s)
            for v in stopped {
                say(" Container \(v.container.Name)  Starting")
                try engine.start(v.container.Id)
                say(" Container \(v.container.Name)  Started")
            }
        }
    }
}
