import CArchive
import OCI
import ImageStore
import OS
#if canImport(Glibc)
import Glibc
#endif

/// `save`: images as one tar that both `docker load` and OCI tools read (Docker 25's
/// layout): an OCI image layout (oci-layout, index.json, blobs/sha256/...) plus Docker's
/// manifest.json and repositories pointing into the same blobs. Layers go as stored.
public enum Saver {
    public static func save(_ refs: [String], store: ImageStore, to fd: Int32) throws {
        var images: [(ImageStore.Image, [String])] = []
        for ref in refs {
            let img = try store.find(ref)
            let name = ImageStore.normalizeName(ref)
            if let i = images.firstIndex(where: { $0.0.id == img.id }) {
                if img.names.contains(name), !images[i].1.contains(name) { images[i].1.append(name) }
            } else {
                images.append((img, img.names.contains(name) ? [name] : []))
            }
        }
        guard let a = sr_tar_open(fd) else { throw Failure("save: libarchive could not start a tar on the output (is it writable? try -o FILE)") }
        var failed = false
        var err = [CChar](repeating: 0, count: 512)
        do {
            var written = Set<String>()
            func blob(_ digest: String) throws {
                guard written.insert(digest).inserted else { return }
                let path = store.blobPath(digest)
                let src = try FD.open(path, O_RDONLY)
                if sr_tar_add_fd(a, "blobs/sha256/" + String(digest.dropFirst(7)), src.raw, Int64(Files.size(path))) != 0 {
                    throw Failure("save: write blob \(digest)")
                }
            }
            func bytes(_ name: String, _ b: [UInt8]) throws {
                let rc = b.withUnsafeBytes { sr_tar_add_bytes(a, name, $0.baseAddress, $0.count) }
                if rc != 0 { throw Failure("save: write \(name)") }
            }
            var indexEntries: [Descriptor] = []
            var dockerManifest: [DockerArchiveEntry] = []
            var repositories: [String: [String: String]] = [:]
            for (img, names) in images {
                try blob(img.id)
                var layers: [Descriptor] = []
                for l in img.layers {
                    try blob(l.blob)
                    layers.append(Descriptor(mediaType: try Layer.manifestMediaType(ofBlob: store.blobPath(l.blob)), digest: l.blob, size: Int64(Files.size(store.blobPath(l.blob)))))
                }
                let manifest = ImageManifest(schemaVersion: 2, mediaType: MediaType.ociManifest,
                                             config: Descriptor(mediaType: MediaType.ociConfig, digest: img.id, size: Int64(Files.size(store.blobPath(img.id)))),
                                             layers: layers)
                let mbytes = try JSON.encode(manifest)
                let mdigest = ImageStore.digest(mbytes)
                try bytes("blobs/sha256/" + String(mdigest.dropFirst(7)), mbytes)
                for n in names.isEmpty ? [""] : names {
                    var d = Descriptor(mediaType: MediaType.ociManifest, digest: mdigest, size: Int64(mbytes.count))
                    if !n.isEmpty {
                        let tag = String(n[n.index(after: n.lastIndex(of: ":")!)...])
                        d.annotations = ["io.containerd.image.name": n, "org.opencontainers.image.ref.name": tag]
                    }
                    indexEntries.append(d)
                }
                dockerManifest.append(DockerArchiveEntry(Config: "blobs/sha256/" + String(img.id.dropFirst(7)), RepoTags: names,
                                                         Layers: img.layers.map { "blobs/sha256/" + String($0.blob.dropFirst(7)) }))
                for n in names {
                    let colon = n.lastIndex(of: ":")!
                    repositories[String(n[..<colon]), default: [:]][String(n[n.index(after: colon)...])] = String((img.layers.last?.blob ?? img.id).dropFirst(7))
                }
            }
            try bytes("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            try bytes("index.json", try JSON.encode(ImageIndex(schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries)))
            try bytes("manifest.json", try JSON.encode(dockerManifest))
            try bytes("repositories", try JSON.encode(repositories))
        } catch {
            failed = true
            _ = sr_tar_close(a, 1, &err, err.count)
            throw Failure("\(error): \(String(cString: err))")
        }
        if sr_tar_close(a, failed ? 1 : 0, &err, err.count) != 0 { throw Failure("save: \(String(cString: err))") }
    }
}
