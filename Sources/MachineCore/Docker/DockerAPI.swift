import Download
import Foundation
import Logging

/// The few Docker Engine API calls that auto-publish needs: the event stream and the ports of
/// containers. Unversioned paths, so any engine answers with its own API version.
public struct DockerAPI: Sendable {
    /// `https://IP:2376`, or a plain `http://127.0.0.1:PORT` in tests.
    public let baseURL: String
    let downloader: Downloader

    public init(baseURL: String, configuration: Downloader.Configuration, logger: Logger = Logger(label: "docker-api")) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.downloader = Downloader(configuration: configuration, logger: logger)
    }

    /// Subscribes to events of the given types (`GET /events?filters={"type":[…]}`) and returns
    /// once Docker has answered.
    ///
    /// Docker sends its answer's head a moment before it starts listening for events, so an event
    /// can fall between the two. Pass `since` (seconds since 1970, by the machine's clock: the
    /// `time` of the last event seen, say) to have Docker replay what it recorded since; applying
    /// a replayed start or stop again does no harm.
    public func events(
        types: [String] = ["container"], since: Int64? = nil
    ) async throws(DockerAPIError) -> DockerEventStream {
        let filters = "{\"type\":[" + types.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
        var path = "/events?filters=" + Self.encode(filters)
        if let since { path += "&since=\(since)" }
        let response: ResponseStream
        do {
            response = try await downloader.openStream(try url(path))
        } catch {
            throw .request(path: path, error)
        }
        return DockerEventStream(response: response, path: path)
    }

    /// The running containers and their published ports (`GET /containers/json`).
    public func runningContainers() async throws(DockerAPIError) -> [ContainerPorts] {
        let path = "/containers/json"
        let data = try await fetch(path)
        do {
            return try ContainerPorts.decodeList(data)
        } catch {
            throw .invalidResponse(path: path, detail: "\(error)")
        }
    }

    /// One container and its published ports (`GET /containers/{id}/json`); nil when Docker
    /// does not know it (any more).
    public func container(_ id: String) async throws(DockerAPIError) -> ContainerPorts? {
        let path = "/containers/\(Self.encode(id))/json"
        let data: Data
        do {
            data = try await fetch(path)
        } catch {
            if case .request(_, .httpStatus(_, 404)) = error { return nil }
            throw error
        }
        do {
            return try ContainerPorts.decodeInspection(data)
        } catch {
            throw .invalidResponse(path: path, detail: "\(error)")
        }
    }

    private func fetch(_ path: String) async throws(DockerAPIError) -> Data {
        do {
            return try await downloader.fetch(try url(path), limit: 16 << 20)
        } catch {
            throw .request(path: path, error)
        }
    }

    private func url(_ path: String) throws(DownloadError) -> URL {
        guard let url = URL(string: baseURL + path) else {
            throw .invalidURL(url: baseURL + path, detail: "not a valid URL")
        }
        return url
    }

    /// Percent-encodes everything but unreserved characters, for a query value or path segment.
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
