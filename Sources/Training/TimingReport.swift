// Every rank's phase times, gathered to all ranks (one allgather), written by rank 0 to
// timing.csv and summarised as a table over ranks (min / median / max), naming the slowest rank.
import Collective
import Foundation

struct TimingReport {
    let hosts: [String]
    /// perRank[r][e] = rank r's timing for epoch e.
    let perRank: [[EpochTiming]]

    /// Collective: every rank must call it with the same number of epochs.
    static func gather(_ timer: PhaseTimer, comm: Communicator) -> TimingReport {
        let hosts = comm.allgather(comm.hostName)
        let rows = comm.allgather(timer.epochs.flatMap(\.flattened))
        let perRank = rows.map { row in
            stride(from: 0, to: row.count, by: EpochTiming.flatCount).map {
                EpochTiming(flattened: row[$0 ..< $0 + EpochTiming.flatCount])
            }
        }
        return TimingReport(hosts: hosts, perRank: perRank)
    }

    var csv: [String] {
        var lines: [String] = []
        for (rank, epochs) in perRank.enumerated() {
            for (epoch, timing) in epochs.enumerated() {
                for phase in Phase.allCases {
                    let total = timing.totals[phase.rawValue]
                    let perStep = phase.isOutsideStep ? total : total / Double(max(timing.steps, 1))
                    lines.append("\(rank),\(hosts[rank]),\(epoch + 1),\(phase.name),"
                                 + "\(fmt(total, 6)),\(fmt(perStep, 6)),\(fmt(timing.maxima[phase.rawValue], 6))")
                }
            }
        }
        return lines
    }

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
            let sorted = t.sorted()
            let slowest = t.indices.max { t[$0] < t[$1] } ?? 0
            lines.append(pad(phase.name, 12) + pad(fmt(sorted.first ?? 0, 3), 10) + pad(fmt(sorted[sorted.count / 2], 3), 10)
                         + pad(fmt(sorted.last ?? 0, 3), 10) + "rank \(slowest) @ \(hosts[slowest])")
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
        return lines.joined(separator: "\n")
    }
}

func fmt(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
