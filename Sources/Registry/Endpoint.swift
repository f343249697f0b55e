import ImageStore

extension Reference {
    /// Where the registry API is: Docker Hub's is registry-1.docker.io.
    public var host: String { domain == "docker.io" ? "registry-1.docker.io" : domain }

    /// Registries on loopback are spoken to over plain HTTP when HTTPS fails, as Docker does.
    public var isLoopback: Bool {
        let h = domain.split(separator: ":").first.map(String.init) ?? domain
        return h == "localhost" || h.hasPrefix("127.") || h == "[::1]"
    }
}
