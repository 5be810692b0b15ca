import Foundation

/// Waiting for cloud-init to finish. When cloud-init has work (a user's `--cloud-init FILE`, or
/// Docker Engine to install), `create` returns only once cloud-init has finished its last stage in
/// the guest, as Multipass and Lima do: a script that runs `berth create --cloud-init …` and then
/// uses the machine finds the user's set-up done and Docker no longer restarting.
///
/// cloud-init's own `cloud-init status --wait` cannot tell on berth's images (they boot with
/// `cloud-init=disabled` and berth-cloud-init.service runs the stages after Docker), so berth waits
/// for what both boot paths leave behind: cloud-init's `boot-finished` marker, or a failed unit.
public enum CloudInitCompletion {
    /// The guest's side, run with sudo over SSH: waits, then prints `finished` or `failed` on its
    /// first line and cloud-init's result.json after it.
    public static let waitScript = """
        until [ -e /var/lib/cloud/instance/boot-finished ]; do
            if systemctl is-failed --quiet berth-cloud-init.service cloud-final.service; then
                [ -e /var/lib/cloud/instance/boot-finished ] || { echo failed; exit 0; }
                break
            fi
            sleep 1
        done
        echo finished
        cat /run/cloud-init/result.json 2>/dev/null || true
        """

    /// What cloud-init said, read from the script's output.
    public enum Outcome: Equatable, Sendable {
        case finished(errors: [String])
        case failed
    }

    public static func parse(_ output: String) -> Outcome {
        let lines = output.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: true)
        guard lines.first?.trimmingCharacters(in: .whitespaces) == "finished" else { return .failed }
        guard lines.count > 1,
              let result = try? JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any],
              let v1 = result["v1"] as? [String: Any] else { return .finished(errors: []) }
        let errors = (v1["errors"] as? [Any] ?? []).map { "\($0)" }
        return .finished(errors: errors)
    }

    /// The one warning line for an outcome, or nil when cloud-init ran cleanly. Never a failure of
    /// the create: the machine and Docker work; what cloud-init was asked partly did not, and its
    /// log says why.
    public static func warning(for outcome: Outcome, machine: String) -> String? {
        let log = "`berth ssh \(machine) -- sudo cat /var/log/cloud-init-output.log`"
        switch outcome {
        case .finished(let errors) where errors.isEmpty:
            return nil
        case .finished(let errors):
            let said = errors.joined(separator: "; ").replacingOccurrences(of: "\n", with: " ")
            return "cloud-init reported errors on \(machine): \(said); its output: \(log)"
        case .failed:
            return "cloud-init failed before it finished on \(machine); its output: \(log)"
        }
    }
}
