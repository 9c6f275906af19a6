// The report's "paper" table: for a sweep of a model that a paper trained (papers.csv, embedded
// at build time, holds the published figures and their sources), each metric's small-batch (SB)
// and large-batch (LB) figure from the paper beside ours (mean ± sample standard deviation over
// seeds, and n), and LB − SB for both. Ours: SB is the sweep's smallest global batch, LB its
// largest; one row per rule that ran at LB. The SB runs of a rule are its own at the smallest
// batch, or the baseline's (the first rule that ran there) when the rule is a large-batch remedy
// only (`--remedies-above-smallest-only`). The paper's figures sit on the baseline's rows.
import Foundation

struct PaperFigure: Equatable {
    let paper: String, source: String, model: String, dataset: String, metric: String
    let small: Double, large: Double
    let smallBatch: String, largeBatch: String

    /// Every row of papers.csv.
    static let all: [PaperFigure] = {
        let table = CSVTable(parsing: String(decoding: PackageResources.papers_csv, as: UTF8.self))
        return table.rows.indices.compactMap { i in
            guard let small = table.number(i, "paper_small"), let large = table.number(i, "paper_large") else { return nil }
            let cell = { table.cell(i, $0) ?? "" }
            return PaperFigure(paper: cell("paper"), source: cell("source"), model: cell("model"), dataset: cell("dataset"),
                               metric: cell("metric"), small: small, large: large, smallBatch: cell("small_batch"),
                               largeBatch: cell("large_batch"))
        }
    }()
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

    /// The sweep's model from sweep.json (nil when absent).
    static func model(_ sweep: SweepData) -> String? {
        guard let text = sweep.sweepText, let json = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        return json["base"]?["model"]?.string
    }

    static func rows(_ sweep: SweepData) -> [PaperRow] {
        let batches = sweep.batches
        guard let smallest = batches.first, let largest = batches.last, smallest < largest else { return [] }
        let model = model(sweep)
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
                let paper = rule == baseline ? PaperFigure.all.first { $0.model == model && $0.metric == metric.column } : nil
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
        let model = Format.escape(model(sweep) ?? "?")
        let matched = PaperFigure.all.filter { $0.model == model }
        let lead = "Ours: SB = global batch \(Format.number(batches.first!)), LB = \(Format.number(batches.last!)), model \(model); "
            + "mean ± standard deviation over seeds (n seeds), diverged runs left out. "
            + (matched.isEmpty ? "No published figures are stored for model \(model) (papers.csv)."
               : "The papers trained on \(Set(matched.map(\.dataset)).sorted().joined(separator: ", ")) with SB \(matched[0].smallBatch) and LB \(matched[0].largeBatch); "
                 + "the figures differ in data, so compare the sign and size of LB − SB.")
        return HTMLPage.section("Paper comparison", id: "paper", lead: lead, [HTMLPage.table(header: header, rows: cells)])
    }
}
