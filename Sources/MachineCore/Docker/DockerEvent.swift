/// One event from Docker Engine's `GET /events`, as documented for `EventMessage`:
/// `{"Type":"container","Action":"start","Actor":{"ID":"…","Attributes":{"name":"web",…}},
/// "scope":"local","time":1629574695,"timeNano":1629574695515050000}`.
///
/// Engines before API 1.22 sent only `status`, `id` and `from`, which later ones still add to
/// container events (deprecated); they fill in what the newer fields leave out.
public struct DockerEvent: Sendable, Hashable, Decodable {
    /// `container`, `image`, `network`, `volume`, `daemon`, …
    public var type: String
    /// `start`, `die`, `exec_start: sh -c …`, `health_status: healthy`, …
    public var action: String
    public var actorID: String
    /// For containers: its labels, plus `name` and `image`.
    public var attributes: [String: String]
    public var scope: String?
    public var time: Int64?
    public var timeNano: Int64?

    public init(
        type: String, action: String, actorID: String, attributes: [String: String] = [:], scope: String? = "local",
        time: Int64? = nil, timeNano: Int64? = nil
    ) {
        self.type = type
        self.action = action
        self.actorID = actorID
        self.attributes = attributes
        self.scope = scope
        self.time = time
        self.timeNano = timeNano
    }

    private enum Keys: String, CodingKey {
        case type = "Type", action = "Action", actor = "Actor", scope, time, timeNano
        case status, id, from
    }

    private struct Actor: Decodable {
        var ID: String?
        var Attributes: [String: String]?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let status = try container.decodeIfPresent(String.self, forKey: .status)
        let actor = try container.decodeIfPresent(Actor.self, forKey: .actor)
        // The legacy fields described container events only.
        type = try container.decodeIfPresent(String.self, forKey: .type) ?? (status != nil ? "container" : "")
        action = try container.decodeIfPresent(String.self, forKey: .action) ?? status ?? ""
        let legacyID = try container.decodeIfPresent(String.self, forKey: .id)
        actorID = actor?.ID ?? legacyID ?? ""
        var attributes = actor?.Attributes ?? [:]
        if attributes["image"] == nil, let from = try container.decodeIfPresent(String.self, forKey: .from) {
            attributes["image"] = from
        }
        self.attributes = attributes
        scope = try container.decodeIfPresent(String.self, forKey: .scope)
        time = try container.decodeIfPresent(Int64.self, forKey: .time)
        timeNano = try container.decodeIfPresent(Int64.self, forKey: .timeNano)
    }

    /// What this event means for a container's published ports, if anything.
    public var containerChange: ContainerChange? {
        guard type == "container", !actorID.isEmpty else { return nil }
        switch action {
        // Ports are published when the container starts (also after a restart or an automatic
        // restart, which Docker reports as die then start).
        case "start":
            return .started(id: actorID)
        // `die` comes whenever the process ends, however it was stopped; `kill` only sends a
        // signal the container may survive, and a paused container keeps its ports.
        case "die", "stop", "destroy":
            return .stopped(id: actorID)
        default:
            return nil
        }
    }
}

/// A change that can open or close a container's published ports.
public enum ContainerChange: Sendable, Hashable {
    /// Read its ports (`GET /containers/{id}/json`) and forward them.
    case started(id: String)
    /// Stop forwarding its ports.
    case stopped(id: String)
}
