// Per-rank time over a run, from timing.csv: compute (data + forward + backward + optimizer),
// allreduce, and the part of allreduce that was waiting for slower ranks. Every rank leaves the
// allreduce together, so the rank that arrives first waits longest: wait_r = allreduce_r -
// min over ranks of allreduce, and the fastest rank's allreduce is the transfer itself.

public struct RankTiming: Equatable, Sendable {
    public let rank: Int
    public let host: String
    public let compute: Double
    public let allreduce: Double
    public let wait: Double
    public let evaluation: Double

    /// The allreduce time that was not waiting.
    public var transfer: Double { allreduce - wait }

    static let computePhases: Set<String> = ["data", "forward", "backward", "optimizer"]

    /// Sums total_seconds over epochs for each rank, ranks in increasing order.
    public static func perRank(_ table: CSVTable) -> [RankTiming] {
        var compute: [Int: Double] = [:], allreduce: [Int: Double] = [:], evaluation: [Int: Double] = [:]
        var hosts: [Int: String] = [:]
        for i in table.rows.indices {
            guard let rank = table.number(i, "rank").map(Int.init), let phase = table.cell(i, "phase"),
                  let seconds = table.number(i, "total_seconds") else { continue }
            hosts[rank] = hosts[rank] ?? table.cell(i, "host") ?? ""
            if computePhases.contains(phase) {
                compute[rank, default: 0] += seconds
            } else if phase == "allreduce" {
                allreduce[rank, default: 0] += seconds
            } else if phase == "evaluation" {
                evaluation[rank, default: 0] += seconds
            }
        }
        let ranks = Set(hosts.keys).sorted()
        let fastest = ranks.map { allreduce[$0] ?? 0 }.min() ?? 0
        return ranks.map { r in
            RankTiming(rank: r, host: hosts[r] ?? "", compute: compute[r] ?? 0, allreduce: allreduce[r] ?? 0,
                       wait: (allreduce[r] ?? 0) - fastest, evaluation: evaluation[r] ?? 0)
        }
    }

    /// The straggler: the rank with the most compute, whom the others wait for.
    public static func slowest(_ timings: [RankTiming]) -> Int? {
        timings.max { $0.compute < $1.compute }?.rank
    }
}
