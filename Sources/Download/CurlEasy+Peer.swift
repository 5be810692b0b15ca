import CCurl

extension CurlEasy {
    /// The settings that decide whom a transfer talks to and how it proves who it is: the CA to
    /// verify the server with, the client certificate for mutual TLS, and the proxy.
    func applyPeerSettings(_ configuration: Downloader.Configuration) throws(DownloadError) {
        if let certificate = configuration.clientCertificatePath {
            try set(CURLOPT_SSLCERT, certificate)
        }
        if let key = configuration.clientKeyPath {
            try set(CURLOPT_SSLKEY, key)
        }
        if let caBundle = configuration.caBundlePath {
            try set(CURLOPT_CAINFO, caBundle)
        }
        if let proxy = configuration.proxy {
            try set(CURLOPT_PROXY, proxy)
        }
        if let noProxy = configuration.noProxy {
            try set(CURLOPT_NOPROXY, noProxy)
        }
    }
}
