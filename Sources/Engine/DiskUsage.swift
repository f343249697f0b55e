import ImageStore
import OS

/// `system df`: what the store's images, containers, volumes and build cache take on disk,
/// and how much of it nothing running needs. Sizes are files' apparent bytes (Docker's);
/// a layer shared by several images counts once.
public struct DiskUsage {
    public struct Section {
        public var total = 0
        public var active = 0
        public var size: Int64 = 0
        public var reclaimable: Int64 = 0
    }
    public struct ImageUse {
        public var image: ImageStore.Image
        public var containers: Int
        /// Bytes of layers no other image has.
        public var unique: Int64
    }
    public struct ContainerUse {
        public var view: ContainerView
        public var size: Int64
    }
    public struct VolumeUse {
        public var volume: VolumeRecord
        public var links: Int
        public var size: Int64
    }

    public var images = Section(), containers = Section(), volumes = Section(), buildCache = Section()
    public var imageRows: [ImageUse] = []
    public var containerRows: [ContainerUse] = []
    public var volumeRows: [VolumeUse] = []
}

extension Engine {
    public func diskUsage() throws -> DiskUsage {
        var du = DiskUsage()
        let views = list()
        let all = try store.images()
        let named = all.filter { !$0.intermediate }
        var users: [String: Int] = [:]
        for v in views { users[v.container.ImageID, default: 0] += 1 }

        // Layers by chain ID: their size, and which named images hold them.
        var layerSize: [String: Int64] = [:]
        var holders: [String: Int] = [:]
        for img in named {
            for l in img.layers { layerSize[l.chainID] = l.size ?? 0; holders[l.chainID, default: 0] += 1 }
        }
        let activeLayers = Set(named.filter { users[$0.id] != nil }.flatMap { $0.layers.map(\.chainID) })
        du.images.total = named.count
        du.images.active = named.filter { users[$0.id] != nil }.count
        du.images.size = layerSize.values.reduce(0, +)
        du.images.reclaimable = layerSize.filter { !activeLayers.contains($0.key) }.values.reduce(0, +)
        du.imageRows = named.map { img in
            DiskUsage.ImageUse(image: img, containers: users[img.id] ?? 0,
                               unique: img.layers.filter { holders[$0.chainID] == 1 }.reduce(0) { $0 + ($1.size ?? 0) })
        }

        for v in views {
            let size = Files.treeSize(v.dir + "/upper")
            du.containerRows.append(DiskUsage.ContainerUse(view: v, size: size))
            du.containers.total += 1
            du.containers.size += size
            if v.state.Running { du.containers.active += 1 } else { du.containers.reclaimable += size }
        }

        var links: [String: Int] = [:]
        for v in views { for m in v.container.HostConfig.Mounts ?? [] where m.Type == "volume" { links[m.Source, default: 0] += 1 } }
        for vol in volumes() {
            let size = Files.treeSize(vol.Mountpoint)
            let n = links[vol.Name] ?? 0
            du.volumeRows.append(DiskUsage.VolumeUse(volume: vol, links: n, size: size))
            du.volumes.total += 1
            du.volumes.size += size
            if n > 0 { du.volumes.active += 1 } else { du.volumes.reclaimable += size }
        }

        // The build cache: steps no name keeps (their layers no named image shares) and the
        // RUN --mount=type=cache directories. Nothing of it is needed by a container.
        var cacheLayers: [String: Int64] = [:]
        for img in all where img.intermediate {
            du.buildCache.total += 1
            for l in img.layers where layerSize[l.chainID] == nil { cacheLayers[l.chainID] = l.size ?? 0 }
        }
        let mounts = (try? Files.list(store.buildCacheMounts)) ?? []
        du.buildCache.total += mounts.count
        du.buildCache.size = cacheLayers.values.reduce(0, +) + mounts.reduce(0) { $0 + Files.treeSize(store.buildCacheMounts + "/" + $1) }
        du.buildCache.reclaimable = du.buildCache.size
        return du
    }
}
