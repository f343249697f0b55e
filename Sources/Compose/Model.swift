/// A compose project as the file describes it, after merging, interpolation and
/// validation: what `up` makes, in compose-spec's terms.
public struct Project {
    public var name: String
    /// Where relative paths (build contexts, bind mounts, env files) start.
    public var directory: String
    /// In file order.
    public var services: [Service]
    public var networks: [String: NetworkDef]
    public var volumes: [String: VolumeDef]

    public func service(_ name: String) -> Service? { services.first { $0.name == name } }
}

public struct BuildDef: Equatable {
    public var context: String
    public var dockerfile: String?
    public var target: String?
    public var args: [String: String] = [:]
}

public struct DependsOn: Equatable {
    public enum Condition: String { case started = "service_started", healthy = "service_healthy", completed = "service_completed_successfully" }
    public var service: String
    public var condition: Condition
    public var required: Bool
}

public struct HealthDef: Equatable {
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var retries: Int?
    public var startPeriod: Int64?
    public var startInterval: Int64?
    public var disable = false
}

public struct ServiceNetwork: Equatable {
    public var name: String
    public var aliases: [String]
}

public struct Service {
    public var name: String
    public var image: String?
    public var build: BuildDef?
    public var command: [String]?
    public var entrypoint: [String]?
    /// KEY=VALUE in order: env_file first, then environment (which wins).
    public var environment: [String] = []
    public var ports: [String] = []
    /// `-v`-style strings with host paths made absolute and named volumes given their
    /// project names; tmpfs as `--tmpfs` strings.
    public var volumes: [String] = []
    public var tmpfs: [String] = []
    public var dependsOn: [DependsOn] = []
    public var healthcheck: HealthDef?
    public var restart: String?
    public var user: String?
    public var workingDir: String?
    public var hostname: String?
    public var containerName: String?
    public var labels: [String: String] = [:]
    public var stopSignal: String?
    public var stopGracePeriod: Int64?
    public var tty = false
    public var stdinOpen = false
    public var initProcess = false
    public var readOnly = false
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    public var networks: [ServiceNetwork] = []
    /// network_mode: host, none, service:NAME, container:NAME
    public var networkMode: String?
    public var profiles: [String] = []
    public var extraHosts: [String] = []
    public var dns: [String] = []
    public var memLimit: String?
    public var cpus: String?
    public var pidsLimit: Int?
    public var logOptions: [String: String] = [:]
    /// `ulimits`, as `--ulimit` strings (nofile=20000:40000).
    public var ulimits: [String] = []
    /// `devices`, as `--device` strings; `group_add`.
    public var devices: [String] = []
    public var groupAdd: [String] = []
    /// `scale` or `deploy.replicas`: how many containers (PROJECT-SERVICE-1...N).
    public var scale = 1
    /// `shm_size` (a size) and `sysctls` (KEY=VALUE).
    public var shmSize: String?
    public var sysctls: [String] = []
    /// `secrets` and `configs`, resolved against the file's top-level definitions.
    public var files: [FileMount] = []
    /// The line of its definition, for messages.
    public var line: Int = 0
}

/// A secret or config a service reads: a file of the host bound read-only, or content
/// (from the environment, or inline) that compose writes for it.
public struct FileMount: Equatable {
    public enum Kind: String { case secret, config }
    public enum Source: Equatable { case file(String), content(String) }
    public var kind: Kind
    public var name: String
    public var source: Source
    /// Absolute: /run/secrets/NAME for a secret, /NAME for a config, unless given.
    public var target: String
    public var uid: UInt32?
    public var gid: UInt32?
    public var mode: UInt32?
}

/// A top-level `secrets:` or `configs:` entry.
public struct FileDef: Equatable {
    public var source: FileMount.Source
}

public struct NetworkDef: Equatable {
    /// The engine's name: PROJECT_KEY unless `name:` or external.
    public var name: String
    public var external = false
    public var isInternal = false
    public var labels: [String: String] = [:]
}

public struct VolumeDef: Equatable {
    public var name: String
    public var external = false
    public var labels: [String: String] = [:]
}

public struct ComposeError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
