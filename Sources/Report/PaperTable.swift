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
                               metric: cell("metric"), small: small, large: large, smallBatch: cell("small_batch"),
                               largeBatch: cell("large_batch"), optimizer: cell("optimizer"), sweepSmallBatch: sweepSmall,
                               sweepLargeBatch: sweepLarge)
        }
    }()

    func matches(_ c: PaperTable.Comparison) -> Bool {
        model == c.model && optimizer == c.optimizer && sweepSmallBatch == c.small && sweepLargeBatch == c.large
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

    struct Summary: Equatable {
        let mean: Double, deviation: Double, count: Int

        init?(_ values: [Double]) {
            guard !values.isEmpty else { return nil }
            let (n, mean) = (values.count, values.reduce(0, +) / Double(values.count))
            (count, self.mean) = (n, mean)
            deviation = n > 1 ? (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)).squareRoot() : 0
        }

        var text: String { "\(Format.number(mean)) ± \(Format.number(deviation)) (n \(count))" }
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

    /// The baseline's (the first rule at the smallest batch) runs at SB and LB and their optimizer:
    /// results.csv's optimizer column when it has one value there, else sweep.json's base optimizer.
    static func comparison(_ sweep: SweepData) -> Comparison? {
        let batches = sweep.batches
        guard let smallest = batches.first, let largest = batches.last, smallest < largest else { return nil }
        let baseline = sweep.runs.first { $0.globalBatch == smallest }?.rule
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
        let usable = sweep.runs.filter { !$0.diverged }
        let atSmall = usable.filter { $0.globalBatch == smallest }, atLarge = usable.filter { $0.globalBatch == largest }
        let baseline = atSmall.first?.rule
        var rules: [String] = []
        for run in atLarge where !rules.contains(run.rule) { rules.append(run.rule) }
        var rows: [PaperRow] = []
        for metric in metrics {
            guard sweep.results.has(metric.column) else { continue }
            let values = { (runs: [SweepRun]) in runs.compactMap { sweep.value($0, metric.column) }.filter(\.isFinite).map { $0 * metric.scale } }
            for rule in rules {
                let own = atSmall.filter { $0.rule == rule }
                let small = PaperRow.Summary(values(own.isEmpty ? atSmall.filter { $0.rule == baseline } : own))
                let large = PaperRow.Summary(values(atLarge.filter { $0.rule == rule }))
                guard small != nil || large != nil else { continue }
                let paper = rule == baseline ? figures.first { $0.metric == metric.column } : nil
                rows.append(PaperRow(metric: metric.label, rule: rule, paper: paper, small: small, large: large))
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
            return [row.metric, row.rule, p.map { Format.number($0.small) } ?? "", p.map { Format.number($0.large) } ?? "",
                    signed(p.map { $0.large - $0.small }), row.small?.text ?? "", row.large?.text ?? "", signed(row.difference),
                    p.map { "\($0.paper), \($0.source)" } ?? ""]
        }
        let modelName = model(sweep)
        let model = Format.escape(modelName ?? "?")
        let matched = figures(sweep)
        let unmatched = PaperFigure.all.filter { $0.model == modelName && !matched.contains($0) }
        let ours = comparison(sweep).map { Format.escape($0.text) } ?? "?"
        var lead = "Ours: SB = global batch \(Format.number(batches.first!)), LB = \(Format.number(batches.last!)), model \(model); "
            + "mean ± standard deviation over seeds (n seeds), diverged runs left out. "
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
