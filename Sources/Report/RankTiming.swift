// Per-rank time over a run: compute (data + forward + backward + optimizer), allreduce and
// evaluation from timing.csv, and the part of allreduce spent waiting for later ranks from
// imbalance.csv: in each step every rank waited its allreduce time minus the last arriver's,
// summed over steps. That is the trainer's one definition (its console line "waited in
// allreduce" prints the same sums); a folder without imbalance.csv has no wait.

public struct RankTiming: Equatable, Sendable {
    public let rank: Int
    public let host: String
    public let compute: Double
    public let allreduce: Double
    /// Seconds waited in allreduce for later ranks (imbalance.csv); nil when the folder has none.
    public let wait: Double?
    public let evaluation: Double

    /// The allreduce time that was not waiting.
    public var transfer: Double { allreduce - (wait ?? 0) }

    /// The report's words for `wait`, the same as the console's.
    static let waitDefinition = "wait = the time a rank sat in allreduce for the last rank to arrive, summed step by step "
        + "(imbalance.csv; the console's \"waited in allreduce\"; no wait is shown for a folder without imbalance.csv)"

    static let computePhases: Set<String> = ["data", "forward", "backward", "optimizer"]

    /// Sums timing.csv's total_seconds over epochs for each rank, ranks in increasing order, with
    /// each rank's wait_seconds from `imbalance`. A row whose rank is not a whole number or whose
    /// seconds are not finite (a damaged or hand-edited file) is left out, never fatal.
    public static func perRank(_ table: CSVTable, imbalance: CSVTable? = nil) -> [RankTiming] {
        var compute: [Int: Double] = [:], allreduce: [Int: Double] = [:], evaluation: [Int: Double] = [:]
        var hosts: [Int: String] = [:]
        for i in table.rows.indices {
            guard let rank = table.integer(i, "rank"), let phase = table.cell(i, "phase"),
                  let seconds = table.number(i, "total_seconds"), seconds.isFinite else { continue }
            hosts[rank] = hosts[rank] ?? table.cell(i, "host") ?? ""
            if computePhases.contains(phase) {
                compute[rank, default: 0] += seconds
            } else if phase == "allreduce" {
                allreduce[rank, default: 0] += seconds
            } else if phase == "evaluation" {
                evaluation[rank, default: 0] += seconds
            }
        }
        var waits: [Int: Double] = [:]
        if let imbalance {
            for i in imbalance.rows.indices {
                guard let rank = imbalance.integer(i, "rank"), let wait = imbalance.number(i, "wait_seconds"), wait.isFinite else { continue }
                waits[rank] = wait
            }
        }
        return Set(hosts.keys).sorted().map { r in
            RankTiming(rank: r, host: hosts[r] ?? "", compute: compute[r] ?? 0, allreduce: allreduce[r] ?? 0,
                       wait: waits[r], evaluation: evaluation[r] ?? 0)
        }
    }

    /// The straggler: the rank with the most compute, whom the others wait for.
    public static func slowest(_ timings: [RankTiming]) -> Int? {
        timings.max { $0.compute < $1.compute }?.rank
    }
}
