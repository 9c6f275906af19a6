// Every rank's phase times, gathered to all ranks (one allgather), written by rank 0 to
// timing.csv and summarised as a table over ranks (min / median / max), naming the slowest rank,
// then per host; and the imbalance step by step: in each step the rank that spent least time in
// the allreduce arrived last (the straggler), and every other rank waited for it the difference.
import Collective
import Foundation
import Tensor

struct TimingReport {
    let hosts: [String]
    /// perRank[r][e] = rank r's timing for epoch e.
    let perRank: [[EpochTiming]]
    /// Seconds each rank waited in allreduces for later ranks, summed over steps.
    let waits: [Double]
    /// Steps in which each rank arrived last at the allreduce.
    let stragglerSteps: [Int]
    /// The run's epoch (0-based) that `perRank[r][0]` timed: a resumed launch times from the epoch it resumed in.
    var firstEpoch = 0

    /// Collective: every rank must call it with the same number of epochs and steps.
    /// `allreduceSeconds[s]`: this rank's time in step s's allreduce (0 for steps not run here).
    static func gather(_ timer: PhaseTimer, allreduceSeconds: [Double], comm: Communicator) -> TimingReport {
        let hosts = comm.allgather(comm.hostName)
        let rows = comm.allgather(timer.epochs.flatMap(\.flattened))
        let perRank = rows.map { row in
            stride(from: 0, to: row.count, by: EpochTiming.flatCount).map {
                EpochTiming(flattened: row[$0 ..< $0 + EpochTiming.flatCount])
            }
        }
        let (waits, straggler) = imbalance(comm.allgather(allreduceSeconds))
        return TimingReport(hosts: hosts, perRank: perRank, waits: waits, stragglerSteps: straggler)
    }

    /// Per rank: seconds waited for later ranks and steps arrived last, from every rank's seconds
    /// in each step's allreduce (`allreduces[r][s]`; steps some rank did not run are 0 and skipped).
    static func imbalance(_ allreduces: [[Double]]) -> (waits: [Double], stragglerSteps: [Int]) {
        var waits = [Double](repeating: 0, count: allreduces.count)
        var straggler = [Int](repeating: 0, count: allreduces.count)
        for step in allreduces[0].indices where allreduces.count > 1 && allreduces.allSatisfy({ $0[step] > 0 }) {
            let times = allreduces.map { $0[step] }
            let last = times.indices.min { times[$0] < times[$1] }!
            straggler[last] += 1
            for r in times.indices { waits[r] += times[r] - times[last] }
        }
        return (waits, straggler)
    }

    /// rank,host,wait_seconds,straggler_steps (imbalance.csv).
    static let imbalanceHeader = "rank,host,wait_seconds,straggler_steps"
    var imbalanceCSV: [String] {
        waits.indices.map { "\($0),\(hosts[$0]),\(fmt(waits[$0], 6)),\(stragglerSteps[$0])" }
    }

    var csv: [String] {
        var lines: [String] = []
        for (rank, epochs) in perRank.enumerated() {
            for (epoch, timing) in epochs.enumerated() {
                for phase in Phase.allCases {
                    lines.append("\(rank),\(hosts[rank]),\(firstEpoch + epoch + 1),\(phase.name),"
                                 + "\(fmt(timing.totals[phase.rawValue], 6)),\(fmt(timing.mean(phase), 6)),\(fmt(timing.maxima[phase.rawValue], 6))")
                }
            }
        }
        return lines
    }

    /// For evaluation and checkpoint the mean and max are per occurrence (they run between steps).
    static let csvHeader = "rank,host,epoch,phase,total_seconds,mean_per_step,max_per_step"

    /// Seconds in `phase` over the whole run, per rank.
    func totals(_ phase: Phase) -> [Double] {
        perRank.map { $0.reduce(0) { $0 + $1.totals[phase.rawValue] } }
    }

    /// A table over ranks: each phase's min / median / max total seconds and the rank with the max.
    var table: String {
        var lines = ["phase        min s     median s  max s     slowest"]
        for phase in Phase.allCases {
            let t = totals(phase)
            let slowest = t.indices.max { t[$0] < t[$1] } ?? 0
            // The median of an even rank count is the mean of the middle two (Tensor's median), not the upper one.
            lines.append(pad(phase.name, 12) + pad(fmt(t.min() ?? 0, 3), 10) + pad(fmt(median(t), 3), 10)
                         + pad(fmt(t.max() ?? 0, 3), 10) + "rank \(slowest) @ \(hosts[slowest])")
        }
        // Compute is what a rank does before the allreduce; the slowest at it makes the others wait there.
        let compute = perRank.indices.map { r in
            [Phase.data, .forward, .backward].reduce(0) { $0 + totals($1)[r] }
        }
        if let slowest = compute.indices.max(by: { compute[$0] < compute[$1] }), perRank.count > 1 {
            let others = compute.enumerated().filter { $0.offset != slowest }.map(\.element)
            let lead = compute[slowest] - (others.min() ?? compute[slowest])
            lines.append("straggler: rank \(slowest) @ \(hosts[slowest]) (compute \(fmt(compute[slowest], 3)) s, "
                         + "\(fmt(lead, 3)) s more than the fastest rank, which waited in allreduce)")
        }
        if perRank.count > 1 {
            let steps = stragglerSteps.reduce(0, +)
            lines.append("waited in allreduce for later ranks: " + waits.indices.map {
                "rank \($0) \(fmt(waits[$0], 3)) s (last to arrive in \(stragglerSteps[$0]) of \(steps) steps)"
            }.joined(separator: ", "))
        }
        // Per host: the same phases summed over the host's ranks.
        let hostNames = Array(Set(hosts)).sorted()
        if hostNames.count > 1 || perRank.count > 1 {
            for host in hostNames {
                let ranks = hosts.indices.filter { hosts[$0] == host }
                let sum: (Phase) -> Double = { phase in ranks.reduce(0) { $0 + self.totals(phase)[$1] } }
                lines.append("host \(host) (ranks \(ranks.map(String.init).joined(separator: ","))): compute "
                             + fmt(sum(.data) + sum(.forward) + sum(.backward) + sum(.optimizer), 3) + " s, allreduce "
                             + fmt(sum(.allreduce), 3) + " s, waited " + fmt(ranks.reduce(0) { $0 + waits[$1] }, 3) + " s")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// A CSV field: a NaN or infinite value is left empty (read as missing), never written as a figure.
func fmt(_ value: Double, _ digits: Int) -> String {
    value.isFinite ? String(format: "%.\(digits)f", value) : ""
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
