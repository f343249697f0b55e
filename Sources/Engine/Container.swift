import Network
import OCI
import OS

/// What `create` decides, written once to containers/<id>/config.json. Field names are
/// Docker's, so `inspect` shows them as Docker does.
public struct Container: Codable {
    public var Id: String
    public var Name: String            // without Docker's leading "/"
    public var Created: String         // RFC 3339 nano
    public var CreatedNs: Int64
    public var Image: String           // as the user named it
    public var ImageID: String         // sha256:...
    public var Path: String
    public var Args: [String]
    public var Config: Config
    public var HostConfig: HostConfig

    public struct Config: Codable {
        public var Hostname: String
        public var User: String
        public var Env: [String]
        public var Cmd: [String]?
        public var Entrypoint: [String]?
        public var WorkingDir: String
        public var Labels: [String: String]
        public var StopSignal: String
        public var StopTimeout: Int?
        public var Healthcheck: ImageConfig.Healthcheck?
        public var Image: String
        public var OpenStdin: Bool
        public var Tty: Bool
        /// The image's SHELL (CMD-SHELL health checks run with it).
        public var Shell: [String]
        public var ExposedPorts: [String: [String: String]]?
    }

    public struct HostConfig: Codable {
        public var AutoRemove: Bool
        public var RestartPolicy: RestartPolicy
        public var ReadonlyRootfs: Bool
        public var LogConfig: LogConfig
        /// podman's --health-on-failure: none, kill, restart, stop.
        public var HealthOnFailure: String
        /// "bridge", "none", "host", "container:<id>" or a user network's name.
        public var NetworkMode: String?
        public var PortBindings: [String: [HostPort]]?
        public var PublishAllPorts: Bool?
        public var Dns: [String]?
        public var DnsSearch: [String]?
        public var DnsOptions: [String]?
        public var ExtraHosts: [String]?
        /// swiftrun's own: the parsed -p/-P list and --network-alias.
        public var Publish: [PortBinding]?
        public var NetworkAliases: [String]?
        /// Networks joined with `network connect`, after the first (eth1, eth2, ...).
        public var ConnectedNetworks: [ConnectedNetwork]?
        /// -v as given; every -v, --mount and --tmpfs as parsed (anonymous volumes named at create).
        public var Binds: [String]?
        public var Mounts: [UserMount]?
        /// --init: a reaping PID 1 runs the process.
        public var Init: Bool?
        public var CapAdd: [String]?
        public var CapDrop: [String]?
        public var Privileged: Bool?
        public var SecurityOpt: [String]?
        public var Devices: [DeviceMapping]?
        public var GroupAdd: [String]?
        /// --ulimit, as given (the defaults are not listed, as in Docker).
        public var Ulimits: [Ulimit]?
        /// --shm-size in bytes (Docker's default, 64 MiB, when absent) and --sysctl.
        public var ShmSize: Int64?
        public var Sysctls: [String: String]?
        /// Limits (cgroup v2), with Docker's names and units: bytes, nano-CPUs, microseconds.
        public var Memory: Int64?
        public var MemorySwap: Int64?
        public var MemoryReservation: Int64?
        public var NanoCpus: Int64?
        public var CpuShares: Int64?
        public var CpuPeriod: Int64?
        public var CpuQuota: Int64?
        public var CpusetCpus: String?
        public var CpusetMems: String?
        public var PidsLimit: Int64?
        public var BlkioWeight: UInt16?
    }

    public struct ConnectedNetwork: Codable, Equatable {
        public var Name: String
        public var Aliases: [String]
    }

    public struct RestartPolicy: Codable, Equatable {
        public var Name: String            // "no", "always", "unless-stopped", "on-failure"
        public var MaximumRetryCount: Int
        public init(Name: String, MaximumRetryCount: Int) {
            self.Name = Name
            self.MaximumRetryCount = MaximumRetryCount
        }

        /// "no", "always", "unless-stopped", "on-failure[:N]".
        public static func parse(_ s: String) throws -> RestartPolicy {
            let parts = s.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts.first ?? ""
            switch name {
            case "", "no", "always", "unless-stopped":
                guard parts.count == 1 else { throw Failure("invalid restart policy '\(s)': maximum retry count can only be used with 'on-failure'") }
                return RestartPolicy(Name: name.isEmpty ? "no" : name, MaximumRetryCount: 0)
            case "on-failure":
                var n = 0
                if parts.count == 2 {
                    guard let v = Int(parts[1]), v >= 0 else { throw Failure("invalid restart policy '\(s)': the maximum retry count must be a number >= 0") }
                    n = v
                }
                return RestartPolicy(Name: name, MaximumRetryCount: n)
            default:
                throw Failure("invalid restart policy '\(s)': use no, always, unless-stopped or on-failure[:max-retries]")
            }
        }
    }

    public struct LogConfig: Codable {
        public var `Type`: String
        public var Config: [String: String]
    }
}

/// Docker's container states; its words appear only when encoded.
public enum ContainerStatus: String, Codable, Sendable {
    case created, running, paused, restarting, removing, exited, dead
}

/// What the supervisor keeps current in containers/<id>/state.json (atomic renames):
/// Docker's State plus what swiftrun needs to tell a live supervisor from a dead one.
public struct ContainerState: Codable {
    public var Status: ContainerStatus = .created
    public var Running = false
    public var Paused = false
    public var Restarting = false
    public var OOMKilled = false
    public var Dead = false
    public var Pid: Int32 = 0
    public var ExitCode: Int32 = 0
    public var Error = ""
    public var StartedAt = zeroTime
    public var FinishedAt = zeroTime
    public var Health: HealthState?
    public var StartedNs: Int64 = 0
    public var FinishedNs: Int64 = 0
    public var RestartCount = 0
    public var SupervisorPid: Int32 = 0
    public var SupervisorStart: UInt64 = 0
    /// The user asked for a stop (stop, kill, rm -f): no restart policy applies.
    public var StopRequested = false
    public var NetworkSettings: NetworkSettings?

    public static let zeroTime = "0001-01-01T00:00:00Z"
    public init() {}
}

/// One container as the CLI sees it: its record and its state, with a dead supervisor's
/// "running" already read as what it means.
public struct ContainerView {
    public var container: Container
    public var state: ContainerState
    public var dir: String
}
