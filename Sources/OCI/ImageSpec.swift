// OCI image-spec and Docker image types (Codable, no I/O). Docker's config fields are
// kept whole, above all Healthcheck, which other tools drop.

public struct Descriptor: Codable, Equatable, Sendable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: Platform?
    public init(mediaType: String, digest: String, size: Int64, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
    }
}

public struct Platform: Codable, Equatable, Sendable {
    public var architecture: String
    public var os: String
    public var variant: String?
}

/// An image index (OCI) or manifest list (Docker).
public struct ImageIndex: Codable, Equatable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public init(schemaVersion: Int, mediaType: String?, manifests: [Descriptor]) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.manifests = manifests
    }
}

public struct ImageManifest: Codable, Equatable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public init(schemaVersion: Int, mediaType: String?, config: Descriptor, layers: [Descriptor]) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

/// One entry of a `docker save` archive's manifest.json.
public struct DockerArchiveEntry: Codable, Equatable, Sendable {
    public var Config: String
    public var RepoTags: [String]?
    public var Layers: [String]
    public init(Config: String, RepoTags: [String]?, Layers: [String]) {
        self.Config = Config
        self.RepoTags = RepoTags
        self.Layers = Layers
    }
}

public struct ImageConfig: Codable, Equatable, Sendable {
    public var architecture: String?
    public var os: String?
    public var variant: String?
    public var created: String?
    public var author: String?
    public var config: ContainerConfig?
    public var rootfs: RootFS
    public var history: [History]?

    public struct RootFS: Codable, Equatable, Sendable {
        public var type: String
        public var diff_ids: [String]
        public init(type: String = "layers", diff_ids: [String] = []) {
            self.type = type
            self.diff_ids = diff_ids
        }
    }

    public struct History: Codable, Equatable, Sendable {
        public var created: String?
        public var created_by: String?
        public var comment: String?
        public var empty_layer: Bool?
        public init(created: String? = nil, created_by: String? = nil, comment: String? = nil, empty_layer: Bool? = nil) {
            self.created = created
            self.created_by = created_by
            self.comment = comment
            self.empty_layer = empty_layer
        }
    }

    public init(architecture: String? = "amd64", os: String? = "linux", config: ContainerConfig? = nil, rootfs: RootFS = RootFS(),
                history: [History]? = nil) {
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    /// Docker's container config, as `docker inspect` shows it.
    public struct ContainerConfig: Codable, Equatable, Sendable {
        public var User: String?
        public var ExposedPorts: [String: Empty]?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var Volumes: [String: Empty]?
        public var WorkingDir: String?
        public var Labels: [String: String]?
        public var StopSignal: String?
        public var Shell: [String]?
        public var Healthcheck: Healthcheck?
        public var ArgsEscaped: Bool?
        public var OnBuild: [String]?
        public init() {}
    }

    public struct Healthcheck: Codable, Equatable, Sendable {
        public var Test: [String]?
        public var Interval: Int64?
        public var Timeout: Int64?
        public var StartPeriod: Int64?
        public var StartInterval: Int64?
        public var Retries: Int?
        public init(Test: [String]?, Interval: Int64?, Timeout: Int64?, StartPeriod: Int64?, StartInterval: Int64?, Retries: Int?) {
            self.Test = Test
            self.Interval = Interval
            self.Timeout = Timeout
            self.StartPeriod = StartPeriod
            self.StartInterval = StartInterval
            self.Retries = Retries
        }
    }

    public struct Empty: Codable, Equatable, Sendable {
        public init() {}
    }
}

public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayerTar = "application/vnd.oci.image.layer.v1.tar"
}
