import Foundation

extension ImageCache {
    /// The lock held while one of berth's own images is built, so two creates that both find it
    /// missing build it once, and two builds never replace each other's work half way.
    func buildLock(_ flavor: Flavor) async throws -> StoreLock {
        let locks = directory.appendingPathComponent(".locks")
        try SecureFile.createDirectory(locks)
        return try await StoreLock.acquire(at: locks.appendingPathComponent("build-\(flavor.imageName).lock"),
                                           subject: "the build of image \(flavor.imageName)", timeout: .seconds(3600))
    }
}
