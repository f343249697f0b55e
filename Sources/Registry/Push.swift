import ImageImport
import ImageStore
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// `push`: an image of the store to a registry over the distribution API. Each blob is
/// asked for first (HEAD); a missing one is mounted from another repository of the same
/// registry that the image came from when the registry allows, else uploaded: in one PUT
/// (POST for the upload's location, PUT with the digest), or above `chunkSize` in PATCHes
/// of that size and a closing PUT. Layers go gzip, as Docker pushes them. Then the manifest.
public enum Push {
    public struct Line { public var text: String }

    /// `say`: Docker's lines ("<id>: Pushed", "v1: digest: sha256:... size: N").
    public static func push(_ name: String, store: ImageStore, tlsVerify: Bool = true, say: (String) -> Void) throws {
        let ref = try Reference.parse(name)
        let img: ImageStore.Image
        do { img = try store.find(ref.familiar) } catch {
            throw Failure("An image does not exist locally with the tag: \(ref.familiar)")
        }
        say("The push refers to repository [\(ref.domain)/\(ref.path)]")
        let client = RegistryClient(ref, root: store.root, tlsVerify: tlsVerify)
        client.wantsPush = true
        try client.ping()
        // Other repositories of the same registry this image is known under: mount sources.
        let siblings = img.names.compactMap { try? Reference.parse($0) }.filter { $0.domain == ref.domain && $0.path != ref.path }.map(\.path)
        var descriptors: [Descriptor] = []
        for l in img.layers.reversed() {
            let (blob, mediaType) = try store.pushBlob(l, of: img)
            let path = store.blobPath(blob)
            let size = Int64(Files.size(path))
            let short = String(l.diffID.dropFirst(7).prefix(12))
            if try client.blobExists(blob) {
                say("\(short): Layer already exists")
            } else if try client.upload(blob, path: path, size: size, mountFrom: siblings.first) {
                say("\(short): Mounted from \(siblings.first!)")
            } else {
                say("\(short): Pushed")
            }
            descriptors.insert(Descriptor(mediaType: mediaType, digest: blob, size: size), at: 0)
        }
        let configPath = store.blobPath(img.id)
        let configSize = Int64(Files.size(configPath))
        if !(try client.blobExists(img.id)) { _ = try client.upload(img.id, path: configPath, size: configSize, mountFrom: nil) }
        let manifest = ImageManifest(schemaVersion: 2, mediaType: MediaType.ociManifest,
                                     config: Descriptor(mediaType: "application/vnd.oci.image.config.v1+json", digest: img.id, size: configSize),
                                     layers: descriptors)
        let bytes = try JSON.encode(manifest)
        let digest = try client.putManifest(ref.tag ?? "latest", bytes, mediaType: MediaType.ociManifest)
        say("\(ref.tag ?? "latest"): digest: \(digest) size: \(bytes.count)")
    }
}

extension RegistryClient {
    public func blobExists(_ digest: String) throws -> Bool {
        let r = try send("HEAD", url("blobs/" + digest))
        if r.status == 200 { return true }
        if r.status == 404 { return false }
        throw Failure("HEAD blob \(digest) at \(ref.domain): HTTP \(r.status)")
    }

    /// Mounts (true) or uploads (false) one blob from the file at `path`.
    func upload(_ digest: String, path: String, size: Int64, mountFrom: String?) throws -> Bool {
        let empty = try FD.memfd("swiftrun-empty")
        var start = url("blobs/uploads/")
        if let from = mountFrom { start += "?mount=\(Self.percent(digest))&from=\(Self.percent(from))" }
        let r = try send("POST", start, upload: (empty.raw, 0))
        if r.status == 201 && mountFrom != nil { return true }
        guard r.status == 202, let location = r.header("location") else {
            throw Failure("POST upload of \(digest) to \(ref.domain)/\(ref.path): HTTP \(r.status) \(Self.registryError(r.body))")
        }
        func absolute(_ l: String) -> String { l.hasPrefix("http://") || l.hasPrefix("https://") ? l : "\(scheme)://\(ref.host)\(l)" }
        var put = absolute(location)
        let fd = try FD.open(path, O_RDONLY)
        var rest = (fd: fd.raw, length: size)
        if size > Self.chunkSize {
            // The distribution API's chunked upload: PATCH each range at the location the
            // last answer gave, then PUT the digest with an empty body.
            var offset: Int64 = 0
            while offset < size {
                let n = min(Self.chunkSize, size - offset)
                let r = try send("PATCH", put, headers: ["Content-Type: application/octet-stream", "Content-Range: \(offset)-\(offset + n - 1)"],
                                 upload: (fd.raw, n), uploadOffset: offset)
                guard r.status == 202, let next = r.header("location") else {
                    throw Failure("PATCH blob \(digest) bytes \(offset)-\(offset + n - 1) to \(ref.domain)/\(ref.path): HTTP \(r.status) \(Self.registryError(r.body))")
                }
                put = absolute(next)
                offset += n
            }
            rest = (empty.raw, 0)
        }
        put += (put.contains("?") ? "&" : "?") + "digest=" + Self.percent(digest)
        let p = try send("PUT", put, headers: ["Content-Type: application/octet-stream"], upload: rest)
        guard p.status == 201 else {
            throw Failure("PUT blob \(digest) to \(ref.domain)/\(ref.path): HTTP \(p.status) \(Self.registryError(p.body))")
        }
        return false
    }

    /// Blobs above this go in chunks of this size (SWIFTRUN_PUSH_CHUNK_SIZE, bytes): one PUT of
    /// a large layer through a proxy that limits request bodies fails where chunks pass.
    static var chunkSize: Int64 {
        getenv("SWIFTRUN_PUSH_CHUNK_SIZE").flatMap { Int64(String(cString: $0)) }.flatMap { $0 > 0 ? $0 : nil } ?? 64 << 20
    }

    /// PUT the manifest by tag; its digest.
    func putManifest(_ tag: String, _ bytes: [UInt8], mediaType: String) throws -> String {
        let m = try FD.memfd("swiftrun-manifest")
        try m.writeAll(bytes)
        let r = try send("PUT", url("manifests/" + tag), headers: ["Content-Type: " + mediaType], upload: (m.raw, Int64(bytes.count)))
        guard r.status == 201 else {
            throw Failure("PUT manifest \(tag) to \(ref.domain)/\(ref.path): HTTP \(r.status) \(Self.registryError(r.body))")
        }
        return r.header("docker-content-digest") ?? ImageStore.digest(bytes)
    }
}
