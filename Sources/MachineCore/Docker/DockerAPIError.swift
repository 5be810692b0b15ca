import Download

/// What can go wrong talking to a machine's Docker Engine API.
public enum DockerAPIError: Error, Sendable, CustomStringConvertible {
    /// The request failed: no connection, TLS refused, an error status.
    case request(path: String, DownloadError)
    /// Docker answered something that is not what its API documents.
    case invalidResponse(path: String, detail: String)

    public var description: String {
        switch self {
        case .request(let path, let error):
            return "the Docker Engine request \(path) failed: \(error)"
        case .invalidResponse(let path, let detail):
            return "Docker Engine answered \(path) with something unexpected: \(detail)"
        }
    }
}
