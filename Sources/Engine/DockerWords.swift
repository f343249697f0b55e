import OS

/// The words Docker's CLI prints for containers, reproduced exactly (users grep for them).
public enum DockerWords {
    /// Docker's units.HumanDuration.
    public static func humanDuration(_ ns: Int64) -> String {
        let seconds = ns / 1_000_000_000
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = seconds / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = Int64((Double(ns) / 3.6e12).rounded())
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(seconds / 3600 / 24 / 365) years"
    }

    /// The STATUS column: "Up 3 minutes (healthy)", "Exited (0) 5 seconds ago", "Created".
    public static func status(_ s: ContainerState, nowNs: Int64) -> String {
        switch s.Status {
        case .running, .paused:
            var out = "Up " + humanDuration(nowNs - s.StartedNs)
            // Docker shows (Paused) alone: the health of a frozen container says nothing new.
            if s.Paused || s.Status == .paused { return out + " (Paused)" }
            if let h = s.Health {
                out += h.Status == .starting ? " (health: starting)" : " (\(h.Status.rawValue))"
            }
            return out
        case .restarting:
            return "Restarting (\(s.ExitCode)) \(humanDuration(nowNs - s.FinishedNs)) ago"
        case .exited:
            return "Exited (\(s.ExitCode)) \(humanDuration(nowNs - s.FinishedNs)) ago"
        case .dead: return "Dead"
        case .removing: return "Removal In Progress"
        case .created: return "Created"
        }
    }

    /// The COMMAND column: quoted, cut to 20 characters with "…".
    public static func command(_ path: String, _ args: [String], truncate: Bool) -> String {
        // Docker's daemon quotes arguments that hold a space.
        var c = ([path] + args.map { $0.contains(" ") ? "'\($0)'" : $0 }).joined(separator: " ")
        if truncate && c.count > 20 { c = String(c.prefix(19)) + "…" }
        return "\"" + c.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }
}
