import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The channels a listener has opened, so that removing its rule can close them too.
final class ChannelRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: (channel: any Channel, reset: Bool)] = [:]
        var isClosed = false
    }

    private let state = NIOLockedValueBox(State())

    /// Tracks `channel` until it closes. Returns false, and closes the channel, once the registry
    /// is closed: a connection that was still being set up when its rule went away.
    ///
    /// - Parameter resetOnClose: close with a reset (SO_LINGER 0) when the registry closes it.
    ///   For accepted connections: a gracefully closed one would linger in TIME_WAIT on the host
    ///   port, and a program that binds without SO_REUSEADDR could not take the port for a minute.
    @discardableResult
    func register(_ channel: any Channel, resetOnClose: Bool = false) -> Bool {
        let id = ObjectIdentifier(channel)
        let accepted = state.withLockedValue { state in
            guard !state.isClosed else { return false }
            state.channels[id] = (channel, resetOnClose)
            return true
        }
        guard accepted else {
            Self.close(channel, reset: resetOnClose)
            return false
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLockedValue { _ = $0.channels.removeValue(forKey: id) }
        }
        return true
    }

    /// Closes every tracked channel and refuses new ones.
    func closeAll() async {
        for (channel, reset) in takeAll() {
            Self.close(channel, reset: reset)
            try? await channel.closeFuture.get()
        }
    }

    func closeAllNow() {
        for (channel, reset) in takeAll() {
            Self.close(channel, reset: reset)
        }
    }

    /// Those to reset come first: closing the other end of a joined pair first would make the
    /// glue close the accepted side gracefully, into TIME_WAIT, before its reset.
    private func takeAll() -> [(channel: any Channel, reset: Bool)] {
        let channels = state.withLockedValue { state in
            state.isClosed = true
            return Array(state.channels.values)
        }
        return channels.filter(\.reset) + channels.filter { !$0.reset }
    }

    private static func close(_ channel: any Channel, reset: Bool) {
        guard reset, let options = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
