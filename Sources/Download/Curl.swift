import CCurl
import Foundation

/// libcurl's process-wide state and a few helpers.
enum Curl {
    /// `curl_global_init`, run once, before the first handle is made.
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

    static func initialize() -> CURLcode { globalInit }

    static func describe(_ code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }

    /// `libcurl/7.88.1`
    static var versionToken: String {
        String(cString: curl_version()).split(separator: " ").first.map(String.init) ?? "libcurl"
    }
}

/// One libcurl easy handle, cleaned up when released. Used by one thread at a time.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    let url: String

    init(url: String) throws(DownloadError) {
        self.url = url
        let initCode = Curl.initialize()
        guard initCode == CURLE_OK else {
            throw .curl(url: url, code: Int(initCode.rawValue), message: Curl.describe(initCode))
        }
        guard let handle = curl_easy_init() else {
            throw .curl(url: url, code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed")
        }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    func set(_ option: CURLoption, _ value: Int) throws(DownloadError) {
        try check(ccurl_setopt_long(handle, option, value), option)
    }

    func set(_ option: CURLoption, _ value: Bool) throws(DownloadError) {
        try check(ccurl_setopt_long(handle, option, value ? 1 : 0), option)
    }

    func set(_ option: CURLoption, offset value: Int64) throws(DownloadError) {
        try check(ccurl_setopt_off_t(handle, option, curl_off_t(value)), option)
    }

    /// libcurl copies strings it is given.
    func set(_ option: CURLoption, _ value: String) throws(DownloadError) {
        try check(ccurl_setopt_string(handle, option, value), option)
    }

    /// The pointer must stay valid until the handle is cleaned up or the option is set again.
    func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws(DownloadError) {
        try check(ccurl_setopt_pointer(handle, option, value), option)
    }

    func setWriteFunction(_ function: curl_write_callback) throws(DownloadError) {
        try check(ccurl_setopt_write_function(handle, function), CURLOPT_WRITEFUNCTION)
    }

    func setTransferInfoFunction(_ function: curl_xferinfo_callback) throws(DownloadError) {
        try check(ccurl_setopt_xferinfo_function(handle, function), CURLOPT_XFERINFOFUNCTION)
    }

    func info(long info: CURLINFO) -> Int {
        var value = 0
        return ccurl_getinfo_long(handle, info, &value) == CURLE_OK ? value : 0
    }

    func info(string info: CURLINFO) -> String? {
        var value: UnsafePointer<CChar>?
        guard ccurl_getinfo_string(handle, info, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }

    var responseCode: Int { info(long: CURLINFO_RESPONSE_CODE) }

    /// Whether the last response came over HTTP or HTTPS.
    var isHTTP: Bool {
        guard let scheme = info(string: CURLINFO_SCHEME)?.lowercased() else { return false }
        return scheme == "http" || scheme == "https"
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(DownloadError) {
        guard code == CURLE_OK else {
            throw .curl(url: url, code: Int(code.rawValue),
                        message: "setting option \(option.rawValue): \(Curl.describe(code))")
        }
    }
}
