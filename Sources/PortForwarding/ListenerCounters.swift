import NIOConcurrencyHelpers

/// Counters a listener's event-loop code updates and the status view reads.
final class ListenerCounters: Sendable {
    struct Values: Sendable {
        var open = 0
        var total = 0
        var failures = 0
        var lastFailure: String?
    }

    private let values = NIOLockedValueBox(Values())

    func opened() {
        values.withLockedValue {
            $0.open += 1
            $0.total += 1
        }
    }

    func closed() {
        values.withLockedValue { $0.open -= 1 }
    }

    func failed(_ reason: String) {
        values.withLockedValue {
            $0.failures += 1
            $0.lastFailure = reason
        }
    }

    var snapshot: Values { values.withLockedValue { $0 } }

    func status(rule: ForwardRule, isListening: Bool) -> ForwardStatus {
        let values = snapshot
        return ForwardStatus(
            rule: rule, isListening: isListening, openConnections: values.open, totalConnections: values.total,
            failures: values.failures, lastFailure: values.lastFailure)
    }
}
