import CCurl
import Foundation

/// Everything that can go wrong while downloading. Each description says what happened and what
/// to do next.
public enum DownloadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered with an HTTP error status such as 404.
    case httpStatus(url: String, status: Int)
    /// The name of the server, or of the proxy, did not resolve.
    case hostNotFound(url: String, host: String, isProxy: Bool, detail: String)
    /// The server, or the proxy, refused or did not answer the connection.
    case connectionFailed(url: String, detail: String)
    /// The connection broke off before the whole file arrived; what arrived is kept in `partialPath`.
    case interrupted(url: String, partialPath: String?, bytesReceived: Int64, detail: String)
    /// The transfer made no progress for too long.
    case timedOut(url: String, detail: String)
    /// The TLS handshake or the verification of the server's certificate failed.
    case tls(url: String, code: Int, detail: String)
    /// The downloaded file's digest is not the expected one; the file was deleted.
    case checksumMismatch(url: String, algorithm: ChecksumAlgorithm, expected: String, actual: String)
    /// The disk holding `path` is full.
    case noSpace(path: String)
    /// A file operation failed.
    case fileError(path: String, operation: String, errno: Int32)
    /// A small resource was larger than the limit given for it.
    case responseTooLarge(url: String, limit: Int)
    /// The URL is malformed or its scheme is not supported.
    case invalidURL(url: String, detail: String)
    /// The task was cancelled; a file download keeps what arrived in its `.partial` file.
    case cancelled(url: String)
    /// Any other libcurl error, with libcurl's code and message.
    case curl(url: String, code: Int, message: String)

    public var description: String {
        switch self {
        case .httpStatus(let url, let status):
            let reason = HTTPStatus.reason(status).map { " \($0)" } ?? ""
            return "the server answered \(status)\(reason) for \(url); check that the URL is right and still published"
        case .hostNotFound(let url, let host, let isProxy, let detail):
            if isProxy {
                return "could not resolve the proxy host \(host) while downloading \(url) (\(detail)); check the proxy environment variables (https_proxy, http_proxy, all_proxy, no_proxy)"
            }
            return "could not resolve the host \(host) of \(url) (\(detail)); check the name and the network's DNS settings, or set https_proxy if the network needs a proxy"
        case .connectionFailed(let url, let detail):
            return "could not connect to download \(url) (\(detail)); check that the server is up, that the network or firewall lets it through, and any proxy settings"
        case .interrupted(let url, let partialPath, let bytes, let detail):
            let kept = partialPath.map { " after \(bytes) bytes; they are kept in \($0)" } ?? " after \(bytes) bytes"
            return "the download of \(url) broke off\(kept) (\(detail)); run again to resume"
        case .timedOut(let url, let detail):
            return "the download of \(url) timed out (\(detail)); check the network and run again to resume"
        case .tls(let url, let code, let detail):
            return "the secure connection for \(url) failed (curl error \(code): \(detail)); check the system clock and CA certificates (the ca-certificates package), or a proxy that intercepts TLS"
        case .checksumMismatch(let url, let algorithm, let expected, let actual):
            return "the file downloaded from \(url) has \(algorithm) \(actual) but \(expected) was expected; it was deleted. The file may have changed upstream or been corrupted on the way: refresh the expected checksum and run again"
        case .noSpace(let path):
            return "no space left on device at \(path); free some disk space and run again to resume"
        case .fileError(let path, let operation, let code):
            return "could not \(operation) \(path): \(String(cString: strerror(code))); check the folder's permissions and free space"
        case .responseTooLarge(let url, let limit):
            return "\(url) is larger than the \(limit) bytes allowed for it; check that the URL names the small text file expected"
        case .invalidURL(let url, let detail):
            return "cannot download \(url): \(detail); give an http, https or file URL"
        case .cancelled(let url):
            return "the download of \(url) was cancelled; run again to resume"
        case .curl(let url, let code, let message):
            return "downloading \(url) failed (curl error \(code): \(message)); run again, and check the network if it keeps failing"
        }
    }
}

enum HTTPStatus {
    static func reason(_ status: Int) -> String? {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 410: "Gone"
        case 416: "Range Not Satisfiable"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: nil
        }
    }
}

extension DownloadError {
    /// Maps a failed libcurl transfer to a `DownloadError`.
    static func from(
        code: CURLcode, url: String, message: String, httpStatus: Int,
        partialPath: String?, bytesReceived: Int64
    ) -> DownloadError {
        let detail = message.isEmpty ? Curl.describe(code) : message
        switch code {
        case CURLE_HTTP_RETURNED_ERROR:
            return .httpStatus(url: url, status: httpStatus)
        case CURLE_COULDNT_RESOLVE_HOST:
            return .hostNotFound(url: url, host: URLComponents(string: url)?.host ?? url, isProxy: false, detail: detail)
        case CURLE_COULDNT_RESOLVE_PROXY:
            return .hostNotFound(url: url, host: Self.proxyHost(in: message) ?? "(proxy)", isProxy: true, detail: detail)
        case CURLE_COULDNT_CONNECT:
            return .connectionFailed(url: url, detail: detail)
        case CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
            return .interrupted(url: url, partialPath: partialPath, bytesReceived: bytesReceived, detail: detail)
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(url: url, detail: detail)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
             CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED,
             CURLE_SSL_SHUTDOWN_FAILED, CURLE_USE_SSL_FAILED, CURLE_SSL_CLIENTCERT:
            return .tls(url: url, code: Int(code.rawValue), detail: detail)
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return .invalidURL(url: url, detail: detail)
        case CURLE_ABORTED_BY_CALLBACK:
            return .cancelled(url: url)
        default:
            return .curl(url: url, code: Int(code.rawValue), message: detail)
        }
    }

    /// libcurl says "Could not resolve proxy: NAME".
    private static func proxyHost(in message: String) -> String? {
        guard let colon = message.lastIndex(of: ":") else { return nil }
        let host = message[message.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        return host.isEmpty ? nil : host
    }
}
