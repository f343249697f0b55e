#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's event sources for one wait, by name: the loop builds the set, polls its
/// `fds`, and reads what came back by the same names, never by position. A source without
/// an fd this time (-1) is polled as nothing, as poll(2) does.
struct PollSet {
    enum Source: Hashable {
        case initExit, stdout, stderr, probeExit, probeOutput, memoryEvents, ttyInput, cgroupEvents, nameServer
        /// The port relay's fds, in the order it gave them (PortRelay.pollfds).
        case relay
    }

    var fds: [pollfd] = []
    private var ranges: [Source: Range<Int>] = [:]

    mutating func add(_ source: Source, fd: Int32, events: Int16) {
        add(source, [pollfd(fd: fd, events: events, revents: 0)])
    }

    mutating func add(_ source: Source, _ many: [pollfd]) {
        ranges[source] = fds.count..<fds.count + many.count
        fds += many
    }

    /// What poll reported for the source (0 if it was not in the set).
    func revents(_ source: Source) -> Int16 {
        guard let r = ranges[source], let i = r.first else { return 0 }
        return fds[i].revents
    }

    func ready(_ source: Source) -> Bool { revents(source) != 0 }

    /// The pollfds of a source that added several (the relay's).
    func slice(_ source: Source) -> ArraySlice<pollfd> {
        guard let r = ranges[source] else { return fds[0..<0] }
        return fds[r]
    }

    /// Whether any source but these reported something.
    func anyReady(except: Set<Source>) -> Bool {
        ranges.contains { s, r in !except.contains(s) && r.contains { fds[$0].revents != 0 } }
    }
}
