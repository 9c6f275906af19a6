// One `ddp train` run folder as the report reads it: summary.json, metrics.csv, steps.csv,
// timing.csv, imbalance.csv, config.json. Any of them may be missing (a run that diverged early); a file that
// cannot be read is noted in `problems` and left out, never fatal.
import Foundation

public struct RunData: Sendable {
    public let path: String
    public let summary: JSONValue?
    public let metrics: CSVTable?
    public let steps: CSVTable?
    public let timing: CSVTable?
    public let imbalance: CSVTable?
    /// config.json as written, for a raw <details> block.
    public let configText: String?
    public let problems: [String]

    public static let files = ["summary.json", "metrics.csv", "steps.csv", "timing.csv", "config.json"]

    public init(path: String, summary: JSONValue? = nil, metrics: CSVTable? = nil, steps: CSVTable? = nil,
                timing: CSVTable? = nil, imbalance: CSVTable? = nil, configText: String? = nil, problems: [String] = []) {
        self.path = path
        self.summary = summary
        self.metrics = metrics
        self.steps = steps
        self.timing = timing
        self.imbalance = imbalance
        self.configText = configText
        self.problems = problems
    }

    /// Reads what the folder holds.
    public static func load(_ path: String) -> RunData {
        var problems: [String] = []
        func file(_ name: String) -> String? {
            let full = (path as NSString).appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: full) ? full : nil
        }
        func attempt<T>(_ name: String, _ read: (String) throws -> T) -> T? {
            guard let full = file(name) else { return nil }
            do { return try read(full) } catch {
                problems.append("\(name): \(error)")
                return nil
            }
        }
        let summary = attempt("summary.json", JSONValue.read)
        let metrics = attempt("metrics.csv", CSVTable.read)
        let steps = attempt("steps.csv", CSVTable.read)
        let timing = attempt("timing.csv", CSVTable.read)
        let imbalance = attempt("imbalance.csv", CSVTable.read)
        let config = attempt("config.json") { try String(contentsOfFile: $0, encoding: .utf8) }
        return RunData(path: path, summary: summary, metrics: metrics, steps: steps, timing: timing,
                       imbalance: imbalance, configText: config, problems: problems)
    }

    /// True when the folder holds at least one of the run files.
    public static func looksLikeRun(_ path: String) -> Bool {
        files.contains { FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent($0)) }
    }

    /// (epoch, column) from metrics.csv, one point per evaluation.
    func evaluations(_ column: String) -> [Point] {
        guard let metrics, metrics.has(column) else { return [] }
        return metrics.rows.indices.compactMap { i in
            guard let epoch = metrics.number(i, "epoch"), let value = metrics.number(i, column) else { return nil }
            return Point(epoch, value)
        }
    }

    /// (step, column) from steps.csv, at most `maxPoints`, first and last kept.
    func perStep(_ column: String, maxPoints: Int = 500) -> [Point] {
        guard let steps, steps.has(column), steps.has("step") else { return [] }
        let points = steps.rows.indices.compactMap { i -> Point? in
            guard let step = steps.number(i, "step"), let value = steps.number(i, column) else { return nil }
            return Point(step, value)
        }
        return Downsample.keepingEnds(points, maxPoints: maxPoints)
    }

    /// Per-rank totals over the run from timing.csv.
    var rankTimings: [RankTiming] {
        timing.map { RankTiming.perRank($0, imbalance: imbalance) } ?? []
    }

    public var rule: String? { summary?["rule"]?.string }
    /// The launches the run took (summary.json's `launches`; each resume starts one). timing.csv and
    /// imbalance.csv are written at a run's end from that launch's clocks, so they hold the last one's.
    public var launches: Int { summary?["launches"]?.number.flatMap { Int(exactly: $0) }.map { max($0, 1) } ?? 1 }

    /// What the timing of a resumed run covers, for the page's words beside its bars; "" for one launch.
    var timingScope: String {
        launches > 1 ? "timing.csv holds the last of its \(launches) launches only (it was resumed), not the whole run" : ""
    }
    public var diverged: Bool { summary?["diverged"]?.bool ?? false }
}
