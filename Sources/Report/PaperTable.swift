// The report's "paper" table: for a sweep that runs a paper's comparison (papers.csv, embedded at
// build time, holds the published figures, their sources, and the comparison they belong to), each
// metric's small-batch (SB) and large-batch (LB) figure from the paper beside ours (mean ± sample
// standard deviation over seeds, and n), and LB − SB for both. Ours: SB is the sweep's smallest
// global batch, LB its largest; one row per rule that ran at LB. The SB runs of a rule are its own
// at the smallest batch, or the baseline's (the first rule that ran there) when the rule is a
// large-batch remedy only (`--remedies-above-smallest-only`). The paper's figures sit on the
// baseline's rows, and only when the sweep runs the paper's comparison: the same model, the
// baseline's optimizer the paper's, and SB and LB the paper's pair on our data (papers.csv's
// sweep_small_batch and sweep_large_batch; Keskar's LB, 10% of the training set, is 6000 on
// Fashion-MNIST's 60000 images). A sweep of the same model under another optimizer or batch pair
// (Hoffer et al.'s SGD recipe at 256 vs 1024, say) is a different experiment and shows none.
import Foundation

struct PaperFigure: Equatable {
    let paper: String, source: String, model: String, dataset: String, metric: String
    let small: Double, large: Double
    /// The figures as papers.csv writes them, the paper's own digits (205.14, not 205.1).
    let smallText: String, largeText: String
    /// The paper's batch pair, as it states it.
    let smallBatch: String, largeBatch: String
    /// The comparison a sweep must run for these figures to sit beside it.
    let optimizer: String, sweepSmallBatch: Double, sweepLargeBatch: Double

    /// Every row of papers.csv.
    static let all: [PaperFigure] = {
        let table = CSVTable(parsing: String(decoding: PackageResources.papers_csv, as: UTF8.self))
        return table.rows.indices.compactMap { i in
            guard let small = table.number(i, "paper_small"), let large = table.number(i, "paper_large"),
                  let sweepSmall = table.number(i, "sweep_small_batch"), let sweepLarge = table.number(i, "sweep_large_batch") else { return nil }
            let cell = { table.cell(i, $0) ?? "" }
            return PaperFigure(paper: cell("paper"), source: cell("source"), model: cell("model"), dataset: cell("dataset"),
                               metric: cell("metric"), small: small, large: large, smallText: cell("paper_small"),
                               largeText: cell("paper_large"), smallBatch: cell("small_batch"),
                               largeBatch: cell("large_batch"), optimizer: cell("optimizer"), sweepSmallBatch: sweepSmall,
                               sweepLargeBatch: sweepLarge)
        }
    }()

    func matches(_ c: PaperTable.Comparison) -> Bool {
        model == c.model && optimizer == c.optimizer && sweepSmallBatch == c.small && sweepLargeBatch == c.large
    }

    /// The paper's LB − SB to the digits of its figures (205.14 − 1.23 = 203.91).
    var differenceText: String {
        let decimals = [smallText, largeText].map { $0.split(separator: ".").dropFirst().first?.count ?? 0 }.max() ?? 0
        return String(format: "%.\(decimals)f", large - small)
    }

    /// "adam, SB 256 vs LB 6000".
    var comparisonText: String { "\(optimizer), SB \(Format.number(sweepSmallBatch)) vs LB \(Format.number(sweepLargeBatch))" }
}

struct PaperRow: Equatable {
    let metric: String
    let rule: String
    let paper: PaperFigure?
    /// Ours, in the paper's units (accuracies in percent).
    let small: Summary?, large: Summary?
    /// Runs left out of `small` and `large` because they diverged.
    var divergedSmall = 0, divergedLarge = 0

    struct Summary: Equatable {
        let mean: Double, deviation: Double, count: Int

        init?(_ values: [Double]) {
            guard !values.isEmpty else { return nil }
            let (n, mean) = (values.count, values.reduce(0, +) / Double(values.count))
            (count, self.mean) = (n, mean)
            deviation = n > 1 ? (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)).squareRoot() : 0
        }

        var text: String { "\(Format.number(mean)) ± \(Format.number(deviation)) (n \(count))" }

        /// A cell: the summary, and how many runs diverged; a batch whose every run diverged says so.
        static func text(_ summary: Summary?, diverged: Int) -> String {
            let left = diverged == 0 ? "" : "\(diverged) diverged"
            guard let summary else { return left }
            return summary.text + (left.isEmpty ? "" : ", " + left)
        }
    }

    var difference: Double? { small.flatMap { s in large.map { $0.mean - s.mean } } }
}

enum PaperTable {
    /// The metrics, in table order, with the factor that takes results.csv's value to the paper's units.
    static let metrics: [(column: String, label: String, scale: Double)] = [
        ("train_acc", "train accuracy (%)", 100), ("test_acc", "test accuracy (%)", 100),
        ("sharpness", "sharpness, A = I", 1), ("sharpness_random", "sharpness, random A", 1),
    ]

    /// What a sweep compares, as papers.csv's figures are matched against it.
    struct Comparison: Equatable {
        let model: String?, optimizer: String?, small: Double, large: Double
        var text: String { "\(optimizer ?? "?"), SB \(Format.number(small)) vs LB \(Format.number(large))" }
    }

    static func base(_ sweep: SweepData, _ key: String) -> String? {
        guard let text = sweep.sweepText, let json = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        return json["base"]?[key]?.string
    }

    /// The sweep's model from sweep.json (nil when absent).
    static func model(_ sweep: SweepData) -> String? { base(sweep, "model") }

    /// The small-batch baseline: the rule of results.csv's first row at the smallest batch, diverged
    /// or not (one definition for the comparison and the rows, so the paper's figures never move to
    /// another rule when the baseline's own SB runs diverged).
    static func baseline(_ sweep: SweepData) -> String? {
        guard let smallest = sweep.batches.first else { return nil }
        return sweep.runs.first { $0.globalBatch == smallest }?.rule
    }

    /// The baseline's runs at SB and LB and their optimizer: results.csv's optimizer column when it
    /// has one value there, else sweep.json's base optimizer.
    static func comparison(_ sweep: SweepData) -> Comparison? {
        let batches = sweep.batches
        guard let smallest = batches.first, let largest = batches.last, smallest < largest else { return nil }
        let baseline = baseline(sweep)
        let runs = sweep.runs.filter { $0.rule == baseline && ($0.globalBatch == smallest || $0.globalBatch == largest) }
        let named = Set(runs.compactMap { sweep.results.cell($0.row, "optimizer") }.filter { !$0.isEmpty })
        let optimizer = named.count == 1 ? named.first : named.isEmpty ? base(sweep, "optimizer") : nil
        return Comparison(model: model(sweep), optimizer: optimizer, small: smallest, large: largest)
    }

    /// The figures of the papers whose comparison this sweep runs.
    static func figures(_ sweep: SweepData) -> [PaperFigure] {
        guard let comparison = comparison(sweep) else { return [] }
        return PaperFigure.all.filter { $0.matches(comparison) }
    }

    static func rows(_ sweep: SweepData) -> [PaperRow] {
        let batches = sweep.batches
        guard let smallest = batches.first, let largest = batches.last, smallest < largest else { return [] }
        let figures = figures(sweep)
        let atSmall = sweep.runs.filter { $0.globalBatch == smallest }, atLarge = sweep.runs.filter { $0.globalBatch == largest }
        let baseline = baseline(sweep)
        // Every rule that ran at LB, diverged or not: a rule whose LB runs all diverged is a finding
        // the table shows, not a row that disappears (with the paper's figures, for the baseline).
        var rules: [String] = []
        for run in atLarge where !rules.contains(run.rule) { rules.append(run.rule) }
        var rows: [PaperRow] = []
        for metric in metrics {
            guard sweep.results.has(metric.column) else { continue }
            let values = { (runs: [SweepRun]) in
                runs.filter { !$0.diverged }.compactMap { sweep.value($0, metric.column) }.filter(\.isFinite).map { $0 * metric.scale }
            }
            // A metric the sweep never measured (no sharpness asked for) has no rows, diverged runs or not.
            guard !values(atSmall + atLarge).isEmpty else { continue }
            for rule in rules {
                let own = atSmall.filter { $0.rule == rule }
                let smallRuns = own.isEmpty ? atSmall.filter { $0.rule == baseline } : own
                let largeRuns = atLarge.filter { $0.rule == rule }
                let small = PaperRow.Summary(values(smallRuns)), large = PaperRow.Summary(values(largeRuns))
                let (divergedSmall, divergedLarge) = (smallRuns.filter(\.diverged).count, largeRuns.filter(\.diverged).count)
                guard small != nil || large != nil || divergedSmall + divergedLarge > 0 else { continue }
                let paper = rule == baseline ? figures.first { $0.metric == metric.column } : nil
                rows.append(PaperRow(metric: metric.label, rule: rule, paper: paper, small: small, large: large,
                                     divergedSmall: divergedSmall, divergedLarge: divergedLarge))
            }
        }
        return rows
    }

    static func section(_ sweep: SweepData) -> String {
        let rows = rows(sweep)
        guard !rows.isEmpty else {
            return HTMLPage.section("Paper comparison", id: "paper",
                                    [HTMLPage.note("Needs at least two global batches (a small and a large one) with results.")])
        }
        let batches = sweep.batches
        let signed = { (value: Double?) in value.map(Format.number) ?? "" }
        let header = ["metric", "rule at LB", "paper SB", "paper LB", "paper LB − SB", "ours SB", "ours LB", "ours LB − SB", "paper source"]
        let cells = rows.map { row -> [String] in
            let p = row.paper
            return [row.metric, row.rule, p?.smallText ?? "", p?.largeText ?? "", p?.differenceText ?? "",
                    PaperRow.Summary.text(row.small, diverged: row.divergedSmall), PaperRow.Summary.text(row.large, diverged: row.divergedLarge),
                    signed(row.difference),
                    p.map { "\($0.paper), \($0.source)" } ?? ""]
        }
        let modelName = model(sweep)
        let model = Format.escape(modelName ?? "?")
        let matched = figures(sweep)
        let unmatched = PaperFigure.all.filter { $0.model == modelName && !matched.contains($0) }
        let ours = comparison(sweep).map { Format.escape($0.text) } ?? "?"
        var lead = "Ours: SB = global batch \(Format.number(batches.first!)), LB = \(Format.number(batches.last!)), model \(model); "
            + "mean ± standard deviation over seeds (n seeds), diverged runs left out and counted beside it. "
        if !matched.isEmpty {
            lead += "This sweep runs the comparison of \(Set(matched.map(\.paper)).sorted().joined(separator: ", ")) (\(ours)); "
                + "the paper trained on \(Set(matched.map(\.dataset)).sorted().joined(separator: ", ")) with SB \(matched[0].smallBatch) "
                + "and LB \(matched[0].largeBatch); the figures differ in data, so compare the sign and size of LB − SB."
        } else if !unmatched.isEmpty {
            let theirs = Array(Set(unmatched.map { "\($0.paper) (\($0.comparisonText))" })).sorted()
            lead += "Published figures for model \(model) are stored for \(theirs.joined(separator: "; ")); this sweep runs \(ours), "
                + "a different comparison, so no paper figures are shown."
        } else {
            lead += "No published figures are stored for model \(model) (papers.csv)."
        }
        return HTMLPage.section("Paper comparison", id: "paper", lead: lead, [HTMLPage.table(header: header, rows: cells)])
    }
}
