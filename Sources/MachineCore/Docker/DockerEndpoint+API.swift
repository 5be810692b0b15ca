import Download

extension DockerEndpoint {
    /// The machine's Docker Engine API over mutual TLS: the machine's client certificate, its
    /// CA pinned, no proxy. `timeout` bounds connecting and stalled requests, not event streams.
    public func api(timeout: Duration = .seconds(5)) -> DockerAPI {
        DockerAPI(baseURL: baseURL, configuration: downloader(timeout: timeout).configuration)
    }
}
