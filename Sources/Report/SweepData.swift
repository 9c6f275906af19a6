// A sweep folder as the report reads it: results.csv (one row per run), sweep.json (the grid,
// shown raw) and each row's run subfolder. results.csv is the source of the per-batch figures;
// the run folders give the curves, schedules, noise scale and timing.
import Foundation

/// One row of results.csv, with the fields the figures group by.
public struct SweepRun: Sendable {
    /// Row index into `SweepData.results`.
    public let row: Int
    public let run: String
    public let globalBatch: Double?
    public let rule: String
    public let seed: String
    public let diverged: Bool
}

public struct SweepData: Sendable {
    public let path: String
    public let results: CSVTable
    public let sweepText: String?
    public let runs: [SweepRun]
    /// Run folders by run name (an entry for every row whose folder exists).
    public let folders: [String: RunData]

    public init(path: String, results: CSVTable, sweepText: String?, folders: [String: RunData]) {
        self.path = path
        self.results = results
        self.sweepText = sweepText
        self.folders = folders
        runs = results.rows.indices.map { i in
            let diverged = (results.cell(i, "diverged") ?? "no").lowercased()
            return SweepRun(row: i, run: results.cell(i, "run") ?? "row \(i + 1)", globalBatch: results.number(i, "global_batch"),
                            rule: results.cell(i, "rule") ?? "?", seed: results.cell(i, "seed") ?? "",
                            diverged: ["yes", "true", "1"].contains(diverged))
        }
    }

    public static func isSweep(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("results.csv"))
    }

    public static func load(_ path: String) throws -> SweepData {
        let results = try CSVTable.read((path as NSString).appendingPathComponent("results.csv"))
        for column in ["run", "global_batch", "rule"] where !results.has(column) {
            throw ReportError("\(path)/results.csv has no '\(column)' column")
        }
        let sweepText = try? String(contentsOfFile: (path as NSString).appendingPathComponent("sweep.json"), encoding: .utf8)
        var folders: [String: RunData] = [:]
        for i in results.rows.indices {
            guard let run = results.cell(i, "run"), !run.contains(".."), folders[run] == nil else { continue }
            let full = (path as NSString).appendingPathComponent(run)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue {
                folders[run] = RunData.load(full)
            }
        }
        return SweepData(path: path, results: results, sweepText: sweepText, folders: folders)
    }

    public var rules: [String] { Palette.ordered(runs.map(\.rule)) }

    public var batches: [Double] { Array(Set(runs.compactMap(\.globalBatch))).sorted() }

    /// The run's value in a results.csv column.
    public func value(_ run: SweepRun, _ column: String) -> Double? {
        results.number(run.row, column)
    }

    /// One run per (rule, batch): the first by seed that is not diverged, else the first; rules in
    /// palette order, then batches ascending. For figures that show one seed.
    func representatives(where accept: (SweepRun) -> Bool = { _ in true }) -> [SweepRun] {
        var chosen: [String: SweepRun] = [:]
        let sorted = runs.filter(accept).sorted { a, b in
            if a.diverged != b.diverged { return !a.diverged }
            return (Int(a.seed) ?? Int.max, a.seed, a.row) < (Int(b.seed) ?? Int.max, b.seed, b.row)
        }
        for run in sorted {
            guard let batch = run.globalBatch else { continue }
            let key = "\(run.rule)\u{1}\(batch)"
            if chosen[key] == nil { chosen[key] = run }
        }
        let order = rules
        return chosen.values.sorted { a, b in
            let (ra, rb) = (order.firstIndex(of: a.rule) ?? 0, order.firstIndex(of: b.rule) ?? 0)
            return ra != rb ? ra < rb : (a.globalBatch ?? 0) < (b.globalBatch ?? 0)
        }
    }
}

/// Mean, min and max over seeds of one (rule, batch), and the runs left out of the mean.
public struct SeedStatistic: Sendable, Equatable {
    public let rule: String
    public let batch: Double
    public let mean: Double
    public let min: Double
    public let max: Double
    public let count: Int

    /// Groups the runs by rule and batch and summarises `value` over those `include` accepts
    /// and that have a finite value. Groups with no such run are absent.
    public static func group(_ runs: [SweepRun], value: (SweepRun) -> Double?,
                             include: (SweepRun) -> Bool = { !$0.diverged }) -> [SeedStatistic] {
        var values: [String: [Double]] = [:]
        var keys: [String: (String, Double)] = [:]
        for run in runs where include(run) {
            guard let batch = run.globalBatch, let v = value(run), v.isFinite else { continue }
            let key = "\(run.rule)\u{1}\(batch)"
            values[key, default: []].append(v)
            keys[key] = (run.rule, batch)
        }
        return values.map { key, vs in
            SeedStatistic(rule: keys[key]!.0, batch: keys[key]!.1, mean: vs.reduce(0, +) / Double(vs.count),
                          min: vs.min()!, max: vs.max()!, count: vs.count)
        }.sorted { ($0.rule, $0.batch) < ($1.rule, $1.batch) }
    }
}
