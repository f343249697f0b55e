import ImageImport
import ImageStore
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// What a pull reports as it goes, for the CLI to draw (Docker's words).
public enum PullEvent {
    case resolved(String)                         // "v1: Pulling from test/busybox"
    case layer(id: String, status: String)        // "Pulling fs layer", "Already exists", "Download complete", "Pull complete"
    case progress(id: String, now: Int64, total: Int64)
}

public struct PullResult {
    public var id: String          // the config digest (IMAGE ID)
    public var name: String        // as stored: redis:latest
    public var digest: String      // the manifest's digest (or the index's)
    public var fresh: Bool         // false: the image was already here
}

public enum Puller {
    /// Pulls `reference` into the store: index → the platform's manifest → config and layers,
    /// each verified against its digest, blobs already present skipped. Everything happens
    /// in one store transaction: an error leaves the store as it was.
    public static func pull(_ reference: String, store: ImageStore, platform: String = "linux/amd64", tlsVerify: Bool = true,
                            report: @escaping (PullEvent) -> Void = { _ in }) throws -> PullResult {
        let ref = try Reference.parse(reference)
        let client = RegistryClient(ref, root: store.root, tlsVerify: tlsVerify)
        try client.ping()
        let top = try client.manifest(ref.digest ?? ref.tag!)
        report(.resolved("\(ref.tag ?? ref.digest!): Pulling from \(ref.domain == "docker.io" ? ref.path : ref.domain + "/" + ref.path)"))
        var manifestBytes = top.bytes, manifestDigest = top.digest
        var manifestBlobs: [(String, [UInt8])] = [(top.digest, top.bytes)]
        if top.mediaType == MediaType.ociIndex || top.mediaType == MediaType.dockerManifestList {
            let index = try JSON.decode(ImageIndex.self, from: top.bytes, what: "index \(top.digest)")
            let want = platform.split(separator: "/").map(String.init)
            let found = index.manifests.first { d in
                guard let p = d.platform, p.os == want.first, p.architecture == (want.count > 1 ? want[1] : "amd64") else { return false }
                return want.count < 3 || p.variant == want[2]
            }
            guard let m = found else {
                let have = index.manifests.compactMap { $0.platform.map { "\($0.os)/\($0.architecture)" + ($0.variant.map { "/" + $0 } ?? "") } }
                throw Failure("no matching manifest for \(platform) in the manifest list entries of \(ref.familiar) (it has: \(have.joined(separator: ", ")))")
            }
            let inner = try client.manifest(m.digest)
            guard inner.mediaType == MediaType.ociManifest || inner.mediaType == MediaType.dockerManifest else {
                throw Failure("\(ref.familiar): the \(platform) entry is a \(inner.mediaType), not an image manifest")
            }
            (manifestBytes, manifestDigest) = (inner.bytes, inner.digest)
            manifestBlobs.append((inner.digest, inner.bytes))
        }
        let manifest = try JSON.decode(ImageManifest.self, from: manifestBytes, what: "manifest \(manifestDigest)")
        let name = ref.tag != nil ? ref.familiar : ImageStore.normalizeName(ref.familiar)
        if let have = try? store.find(name), have.id == manifest.config.digest {
            return PullResult(id: have.id, name: name, digest: top.digest, fresh: false)
        }

        return try store.transaction {
            for (d, bytes) in manifestBlobs { try store.ingest(bytes: bytes, expected: d, what: "manifest \(d)") }
            try store.ingestDownload(expected: manifest.config.digest, what: "config \(manifest.config.digest)") { fd in
                try client.blob(manifest.config.digest, into: fd)
            }
            let config = try JSON.decode(ImageConfig.self, from: try store.readBlob(manifest.config.digest), what: manifest.config.digest)
            var (refs, size) = try ImageStore.layerRefs(manifest, config, what: manifestDigest)
            var sizes = [Int64?](repeating: nil, count: refs.count)
            // Up to three layers at a time (Docker's default), each unpacked as soon as it is
            // in: a layer unpacks into its own directory, independent of the ones below it.
            let reportLock = Lock()
            let say: (PullEvent) -> Void = { e in reportLock.locked { report(e) } }
            try parallelForEach(refs.count, width: 3) { i in
                let l = manifest.layers[i], r = refs[i]
                let short = String(l.digest.dropFirst(7).prefix(12))
                if Files.exists(store.layerPath(r.chainID)) {
                    let known = try store.ensureLayer(r)
                    reportLock.locked { sizes[i] = known }
                    say(.layer(id: short, status: "Already exists"))
                    return
                }
                if !Files.exists(store.blobPath(l.digest)) {
                    say(.layer(id: short, status: "Pulling fs layer"))
                    try store.ingestDownload(expected: l.digest, what: "layer \(l.digest)") { fd in
                        try client.blob(l.digest, into: fd) { now, total in say(.progress(id: short, now: now, total: total > 0 ? total : l.size)) }
                    }
                    say(.layer(id: short, status: "Download complete"))
                }
                let unpacked = try store.ensureLayer(r)
                reportLock.locked { sizes[i] = unpacked }
                say(.layer(id: short, status: "Pull complete"))
            }
            for i in refs.indices { refs[i].size = sizes[i] }
            size = ImageStore.unpackedSize(refs, blobs: size)
            try store.add(.init(id: manifest.config.digest, names: [name], layers: refs, created: config.created, size: size,
                                otherBlobs: manifestBlobs.map(\.0)))
            return PullResult(id: manifest.config.digest, name: name, digest: top.digest, fresh: true)
        }
    }

    /// `login`: checks the credentials against the registry before they are kept.
    public static func login(domain: String, user: String, password: String, root: String, tlsVerify: Bool = true) throws {
        let ref = try Reference.parse(domain + "/swiftrun-login-check")
        let c = RegistryClient(ref, root: root, tlsVerify: tlsVerify, credentials: (user, password))
        try c.ping()
        if !c.challenged {
            // The registry asked for nothing on /v2/: try the credentials where it would.
            _ = try? c.send("GET", "\(c.scheme)://\(ref.host)/v2/")
        }
        try AuthFile.store(domain: ref.domain, user: user, password: password, root: root)
    }
}
