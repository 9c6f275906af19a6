// What communication costs each run of a sweep, measured, and from which batch per rank on it stops
// mattering on the sweep's hosts and link: the allreduce's transfer (its time less the wait for
// later ranks, which is imbalance, not the link) over the step (compute + allreduce), mean over
// ranks, from timing.csv and imbalance.csv. `ddp netbench` answers the same question by projection
// for clusters not at hand, with the same 10%.

struct CommunicationShare: Equatable {
    let run: String
    let ranks: Int
    /// Sorted and deduplicated: runs on the same hosts share a link.
    let hosts: [String]
    /// Samples per rank per optimizer step: batch per rank x accumulation (one allreduce a step).
    let samplesPerRank: Int
    let share: Double

    /// At or below this share communication is said not to matter (issue 16's bound on the exposed
    /// allreduce; NetworkBench.mattersAbove, which a test holds equal).
    static let mattersAbove = 0.1

    /// The run's share, or nil when it has no timing or no summary saying its split.
    init?(run: String, data: RunData) {
        let timings = data.rankTimings.filter { $0.compute + $0.allreduce > 0 }
        // Positive whole numbers only: a hand-edited summary.json must not trap the report.
        func count(_ key: String) -> Int? {
            guard let value = data.summary?[key]?.number, value >= 1, value < 1e15 else { return nil }
            return Int(exactly: value)
        }
        guard !timings.isEmpty, let ranks = count("ranks"), let batch = count("batch_per_rank") else { return nil }
        self.run = run
        self.ranks = ranks
        hosts = Array(Set((data.summary?["hosts"]?.array ?? []).compactMap(\.string))).sorted()
        samplesPerRank = batch * (count("accumulate") ?? 1)
        share = timings.map { $0.transfer / ($0.compute + $0.allreduce) }.reduce(0, +) / Double(timings.count)
    }

    init(run: String, ranks: Int, hosts: [String], samplesPerRank: Int, share: Double) {
        (self.run, self.ranks, self.hosts, self.samplesPerRank, self.share) = (run, ranks, hosts, samplesPerRank, share)
    }

    /// One sentence per (ranks, hosts) of more than one rank: scanning its runs from the most
    /// samples per rank down, the last whose share is still <= mattersAbove (one that is not ends
    /// the scan, so a larger batch never hides a smaller one that fails).
    static func stopsMattering(_ shares: [CommunicationShare]) -> [String] {
        var groups: [String: [CommunicationShare]] = [:]
        var order: [String] = []
        for s in shares where s.ranks > 1 {
            let key = "\(s.ranks) ranks on \(s.hosts.isEmpty ? "unnamed hosts" : s.hosts.joined(separator: ", "))"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(s)
        }
        return order.map { key in
            let runs = groups[key]!.sorted { $0.samplesPerRank > $1.samplesPerRank }
            var found: Int?
            for s in runs {
                guard s.share <= mattersAbove else { break }
                found = s.samplesPerRank
            }
            let tried = Array(Set(runs.map(\.samplesPerRank))).sorted().map(String.init).joined(separator: ", ")
            return key + ": " + (found.map { "at most \(Format.number(100 * mattersAbove))% of the step from \($0) samples per rank a step on" }
                                 ?? "above \(Format.number(100 * mattersAbove))% of the step at every batch run (\(tried) samples per rank a step)")
        }
    }
}
