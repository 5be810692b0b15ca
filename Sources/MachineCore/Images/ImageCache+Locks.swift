import Foundation

extension ImageCache {
    /// Builds one of berth's images while holding the store's build lock, so two builds never run
    /// at once (they would share and replace each other's work and package cache). With
    /// `onlyIfMissing`, an image that a concurrent build finished while this one waited is returned
    /// instead of being built again: several creates that find the default image missing build it once.
    public func buildLocked(flavor: Flavor, mirror: String? = nil, forceTCG: Bool, onlyIfMissing: Bool = false,
                            willBuild: () -> Void = {}) async throws -> CachedImage {
        if onlyIfMissing, let image = entry(named: flavor.imageName) { return image }
        let locks = directory.appendingPathComponent(".locks")
        try SecureFile.createDirectory(locks)
        let lock = try await StoreLock.acquire(at: locks.appendingPathComponent("build.lock"),
                                               subject: "the image build in \(directory.path)", timeout: .seconds(3600))
        defer { withExtendedLifetime(lock) {} }
        if onlyIfMissing, let image = entry(named: flavor.imageName) { return image }
        willBuild()
        return try await build(flavor: flavor, mirror: mirror, forceTCG: forceTCG)
    }
}
