// The page for a sweep folder: accuracy, gap, steps to target, noise scale and sharpness against
// global batch from results.csv; curves, schedules, noise scale and timing from the run folders;
// every run in one table. The questions are those of Goyal et al. 2017, Keskar et al. 2017,
// Shallue et al. 2018 and McCandlish et al. 2018.
import Foundation

enum SweepReport {
    static func html(_ sweep: SweepData) -> String {
        var page = HTMLPage(title: "Batch-size scaling sweep: \((sweep.path as NSString).lastPathComponent)")
        page.subtitle = header(sweep)
        page.sections = [
            accuracy(sweep), PaperTable.section(sweep), curves(sweep), stepsToTarget(sweep), schedules(sweep),
            timing(sweep), noiseScale(sweep), table(sweep), grid(sweep),
        ]
        return page.html
    }

    static func label(_ batch: Double) -> String { Format.number(batch) }

    static func header(_ sweep: SweepData) -> String {
        let rules = sweep.rules
        let seeds = Set(sweep.runs.map(\.seed)).sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
        let diverged = sweep.runs.filter(\.diverged).count
        let ruleKey = rules.map { "<span class=\"swatch\" style=\"background:\(Palette.colour($0, among: rules))\"></span>\(Format.escape($0))" }
            .joined(separator: " &nbsp; ")
        var text = "<p class=\"lead\">\(Format.escape(sweep.path)): \(sweep.runs.count) runs, global batch "
            + sweep.batches.map(label).joined(separator: ", ") + "; seeds " + seeds.joined(separator: ", ")
            + "; \(diverged) diverged.</p>\n<p class=\"lead\">Rules: \(ruleKey)</p>"
        let missing = sweep.runs.filter { sweep.folders[$0.run] == nil }.map(\.run)
        if !missing.isEmpty {
            text += "\n" + HTMLPage.note("No run folder for: " + missing.joined(separator: ", ") + " (their rows still count in the per-batch charts).")
        }
        let problems = sweep.folders.keys.sorted().flatMap { run in sweep.folders[run]!.problems.map { "\(run)/\($0)" } }
        if !problems.isEmpty { text += "\n" + HTMLPage.note("Unreadable files: " + problems.joined(separator: "; ")) }
        return text
    }

    static func accuracy(_ sweep: SweepData) -> String {
        let acc = Figures.versusBatch(sweep, id: "test-acc-vs-batch", title: "Final test accuracy vs global batch",
                                      yLabel: "test accuracy (fraction correct)", column: "test_acc")
        let gap = Figures.versusBatch(sweep, id: "gap-vs-batch", title: "Generalization gap vs global batch",
                                      yLabel: "train acc − test acc (fraction)", column: "gap", includeZero: true) { run in
            if let train = sweep.value(run, "train_acc"), let test = sweep.value(run, "test_acc") { return train - test }
            return sweep.value(run, "gap")
        }
        return HTMLPage.section("Accuracy and generalization gap", id: "accuracy",
            lead: "One line per scaling rule through the mean over seeds; bars span the seeds' min to max; an x on the bottom edge is a diverged run, left out of the mean.",
            [HTMLPage.row([
                HTMLPage.figure(acc, caption: "Read how far final test accuracy falls as the batch doubles, and which rule holds it up longest.",
                                missing: "No test_acc values in results.csv."),
                HTMLPage.figure(gap, caption: "A gap that grows with batch is the large-batch generalization gap (Keskar et al. 2017); a rule that closes it trains as well as it tests.",
                                missing: "No train_acc/test_acc values in results.csv."),
            ])])
    }

    /// CurveRun for each run that has a folder, coloured by rule.
    static func curveRuns(_ sweep: SweepData, _ runs: [SweepRun]) -> [CurveRun] {
        let rules = sweep.rules
        return runs.sorted { (rules.firstIndex(of: $0.rule) ?? 0, $0.row) < (rules.firstIndex(of: $1.rule) ?? 0, $1.row) }
            .compactMap { run in
                sweep.folders[run.run].map {
                    CurveRun(name: run.run, rule: run.rule, colour: Palette.colour(run.rule, among: rules), data: $0)
                }
            }
    }

    static func curves(_ sweep: SweepData) -> String {
        let figures = sweep.batches.map { batch in
            let runs = curveRuns(sweep, sweep.runs.filter { $0.globalBatch == batch })
            return HTMLPage.figure(
                Figures.accuracyCurves(runs, id: "curves-b\(label(batch))", title: "Accuracy during training, batch \(label(batch))"),
                caption: "Batch \(label(batch)), every seed: where test (solid) and train (dashed) part, the model overfits.",
                missing: "Batch \(label(batch)): no metrics.csv in its run folders.")
        }
        return HTMLPage.section("Training curves", id: "curves",
            lead: "One chart per global batch, every seed; accuracy measured on the whole training and test sets at each evaluation.",
            [HTMLPage.key(rules: sweep.rules, styles: [("test", false), ("train", true)]), HTMLPage.row(figures)])
    }

    static func stepsToTarget(_ sweep: SweepData) -> String {
        let targets = Set(sweep.runs.compactMap { sweep.results.cell($0.row, "target") }).sorted()
        let target = targets.isEmpty ? "the sweep's target" : "test accuracy ≥ " + targets.joined(separator: ", ")
        guard var chart = Figures.versusBatch(sweep, id: "steps-to-target-vs-batch", title: "Steps to target vs global batch",
                                              yLabel: "optimizer steps to target (log2 scale)", column: "steps_to_target",
                                              logY: true, excludedAtTop: true, excludedLabel: "not reached") else {
            return HTMLPage.section("Steps to target", id: "steps-to-target",
                                    [HTMLPage.note("No run reached \(target): steps_to_target is empty in every row of results.csv.")])
        }
        // Perfect scaling: doubling the batch halves the steps, a line of slope -1 through the
        // mean over all runs that reached the target at the smallest batch (Shallue et al. 2018).
        let reached = sweep.runs.compactMap { run -> (Double, Double)? in
            guard !run.diverged, let b = run.globalBatch, let s = sweep.value(run, "steps_to_target"), s.isFinite, s > 0 else { return nil }
            return (b, s)
        }
        var referenceText = ""
        if let b0 = reached.map(\.0).min() {
            let at = reached.filter { $0.0 == b0 }.map(\.1)
            let s0 = at.reduce(0, +) / Double(at.count)
            chart.referenceLine(from: Point(chart.x.lo, s0 * b0 / chart.x.lo), to: Point(chart.x.hi, s0 * b0 / chart.x.hi), role: "perfect-scaling")
            chart.legend.append(LegendEntry(label: "perfect scaling", colour: Palette.reference, key: .dotted))
            referenceText = " The dotted line is perfect scaling, steps ∝ 1/batch, through the mean \(Format.number(s0)) steps at batch \(label(b0))."
        }
        return HTMLPage.section("Steps to target", id: "steps-to-target",
            lead: "Target: \(Format.escape(target)). An x on the top edge is a run that never reached it or diverged.",
            [HTMLPage.figure(chart, caption: "Where a rule's line follows the dotted slope −1, doubling the batch halves the steps to \(target); where it flattens, the batch is past the critical batch (Shallue et al. 2018)." + referenceText,
                             missing: "")])
    }

    /// One small chart per batch of a steps.csv column over steps, one seed per rule.
    static func perStepFigures(_ sweep: SweepData, column: String, idPrefix: String, title: String, yLabel: String,
                               caption: String, missing: String) -> [String] {
        sweep.batches.map { batch in
            let runs = curveRuns(sweep, sweep.representatives { $0.globalBatch == batch })
            return HTMLPage.figure(
                Figures.perStep(runs, column: column, id: "\(idPrefix)-b\(label(batch))", title: "\(title), batch \(label(batch))",
                                yLabel: yLabel),
                caption: "Batch \(label(batch)): " + caption, missing: "Batch \(label(batch)): " + missing)
        }
    }

    static func schedules(_ sweep: SweepData) -> String {
        let figures = perStepFigures(sweep, column: "lr", idPrefix: "lr", title: "Learning rate as run", yLabel: "learning rate",
                                     caption: "check each rule's scaled peak and warmup ramp.", missing: "no steps.csv in its run folders.")
        return HTMLPage.section("Learning-rate schedules", id: "schedules",
            lead: "The rate each rule actually used, from steps.csv: one seed per rule, at most 500 points per line (first and last step kept).",
            [HTMLPage.key(rules: sweep.rules), HTMLPage.row(figures)])
    }

    static func timing(_ sweep: SweepData) -> String {
        var groups: [(label: String, ranks: [RankTiming])] = []
        var used: [String] = []
        var shares: [(batch: Double, share: CommunicationShare)] = []
        for batch in sweep.batches {
            let candidates = sweep.representatives { $0.globalBatch == batch }
            if let run = candidates.first(where: { !(sweep.folders[$0.run]?.rankTimings.isEmpty ?? true) }) {
                let data = sweep.folders[run.run]!
                groups.append((label(batch), data.rankTimings))
                used.append("\(label(batch)): \(run.run)" + (data.timingScope.isEmpty ? "" : " (its " + data.timingScope + ")"))
                if let share = CommunicationShare(run: run.run, data: data) { shares.append((batch, share)) }
            }
        }
        let chart = Figures.timing(groups, id: "timing", title: "Per-rank time: compute, allreduce, wait",
                                   xLabel: "rank, grouped by global batch")
        var content = [HTMLPage.figure(chart, caption: "A tall wait bar on one rank means it waited for the rank marked ▼ (most compute); allreduce shrinking with batch is fewer steps for the same epochs.",
                                       missing: "No timing.csv in the run folders.")]
        if !shares.isEmpty {
            content.append(HTMLPage.table(header: ["global batch", "run", "ranks", "hosts", "samples per rank a step", "communication % of the step"],
                                          rows: shares.map { b, s in
                                              [label(b), s.run, String(s.ranks), s.hosts.joined(separator: ", "), String(s.samplesPerRank), Format.number(100 * s.share)]
                                          }))
            let sentences = CommunicationShare.stopsMattering(shares.map(\.share))
            if !sentences.isEmpty {
                content.append("<p>" + Format.escape("Where communication stops mattering, measured: " + sentences.joined(separator: "; ") + ".") + "</p>")
            }
        }
        return HTMLPage.section("Per-rank timing", id: "timing",
            lead: "Compute is data + forward + backward + optimizer; allreduce is split into the transfer and the wait: " + RankTiming.waitDefinition
                + ". Evaluation is left out. Communication % is the transfer over compute + allreduce, mean over ranks. Runs shown: "
                + Format.escape(used.joined(separator: "; ")) + ".",
            content)
    }

    static func noiseScale(_ sweep: SweepData) -> String {
        let figures = perStepFigures(sweep, column: "gns", idPrefix: "gns", title: "Gradient noise scale", yLabel: "B_simple (samples)",
                                     caption: "the noise scale as training goes on, one seed per rule.", missing: "no gns values in steps.csv.")
        let positive = sweep.runs.compactMap { sweep.value($0, "gns") }.filter(\.isFinite)
        let logY = !positive.isEmpty && positive.allSatisfy { $0 > 0 }
        var final = Figures.versusBatch(sweep, id: "gns-vs-batch", title: "Final gradient noise scale vs global batch",
                                        yLabel: "B_simple (samples\(logY ? ", log2 scale" : ""))", column: "gns", logY: logY)
        if logY, var chart = final {
            chart.referenceLine(from: Point(chart.x.lo, chart.x.lo), to: Point(chart.x.hi, chart.x.hi), role: "batch-equals-noise")
            chart.legend.append(LegendEntry(label: "B = B_simple", colour: Palette.reference, key: .dotted))
            final = chart
        }
        var finals = [HTMLPage.figure(final,
            caption: "Points above the dotted diagonal ran at a batch below the noise scale, where a bigger batch still buys fewer steps; below it, extra batch is mostly wasted.",
            missing: "No gns values in results.csv.")]
        if let sharp = Figures.versusBatch(sweep, id: "sharpness-vs-batch", title: "Sharpness vs global batch",
                                           yLabel: "sharpness (as measured by the trainer)", column: "sharpness") {
            finals.append(HTMLPage.figure(sharp,
                caption: "Sharpness rising with batch is Keskar et al.'s large-batch runs settling in sharper minima.", missing: ""))
        }
        return HTMLPage.section("Gradient noise scale", id: "noise-scale",
            lead: "B_simple = tr(Σ)/|G|², estimated from each rank's local gradient against the allreduced one; a batch well below it scales almost perfectly (McCandlish et al. 2018).",
            [HTMLPage.key(rules: sweep.rules), HTMLPage.row(figures), HTMLPage.row(finals)])
    }

    static func table(_ sweep: SweepData) -> String {
        let results = sweep.results
        let rows = results.rows.map { row in results.header.indices.map { j in j < row.count ? (row[j] ?? "") : "" } }
        return HTMLPage.section("Every run", id: "runs", lead: "Every row of results.csv (numbers to six significant digits, in full on hover); diverged runs are shaded.",
                                [HTMLPage.table(header: results.header, rows: rows) { sweep.runs[$0].diverged ? "diverged" : nil }])
    }

    static func grid(_ sweep: SweepData) -> String {
        HTMLPage.section("Sweep grid", id: "grid",
                         [sweep.sweepText.map { HTMLPage.details("sweep.json", text: $0) } ?? HTMLPage.note("No sweep.json in the sweep folder.")])
    }
}
