// The report's chart kinds, built from run and sweep data: a value against global batch (mean
// over seeds, min-max bars, left-out runs as crosses), curves against epoch, per-step series,
// and per-rank timing bars. The pages choose which to show; these decide how each looks.
import Foundation

/// A run's curves for one chart: its legend group (the rule), colour and folder.
struct CurveRun {
    let name: String
    let rule: String
    let colour: String
    let data: RunData
}

enum Figures {
    static let mainSize = (width: 600.0, height: 340.0)
    /// Small multiples share one key above them (`HTMLPage.key`), so they carry no legend.
    static let smallSize = (width: 400.0, height: 270.0)

    /// A results.csv column against global batch on a log2 axis: one line per rule through the
    /// mean over seeds, a min-max bar where seeds differ, and an x on the edge for each run
    /// without a value in the mean (diverged, or no value). `logY` puts y on log2 as well.
    static func versusBatch(_ sweep: SweepData, id: String, title: String, yLabel: String, column: String,
                            logY: Bool = false, includeZero: Bool = false, excludedAtTop: Bool = false,
                            excludedLabel: String = "diverged", value: ((SweepRun) -> Double?)? = nil) -> Chart? {
        let value = value ?? { sweep.value($0, column) }
        let stats = SeedStatistic.group(sweep.runs, value: value)
        guard !stats.isEmpty else { return nil }
        let excluded = sweep.runs.filter { run in run.diverged || !(value(run)?.isFinite ?? false) }
        let batches = sweep.batches
        let ys = stats.flatMap { [$0.min, $0.max] }
        let x = Scale.log2(covering: batches)
        let y = logY ? Scale.log2(covering: ys, subdivide: true) : Scale.linear(covering: ys, includeZero: includeZero)
        var chart = Chart(id: id, title: title, xLabel: "global batch (samples, log2 scale)", yLabel: yLabel,
                          x: x, y: y, width: mainSize.width, height: mainSize.height)
        let rules = sweep.rules
        for (k, rule) in rules.enumerated() {
            let colour = Palette.colour(rule, among: rules)
            let mine = stats.filter { $0.rule == rule }.sorted { $0.batch < $1.batch }
            guard !mine.isEmpty || excluded.contains(where: { $0.rule == rule }) else { continue }
            // Bars of different rules at one batch are set a few pixels apart so they do not hide each other.
            let dodge = (Double(k) - Double(rules.count - 1) / 2) * min(3, 24 / Double(rules.count))
            for s in mine where s.count > 1 && s.max > s.min {
                chart.errorBar(x: s.batch, lo: s.min, hi: s.max, colour: colour, series: rule, dodge: dodge)
            }
            chart.line(mine.map { Point($0.batch, $0.mean) }, colour: colour, series: rule, width: 2)
            chart.markers(mine.map { Point($0.batch, $0.mean) }, colour: colour, series: rule)
            chart.legend.append(LegendEntry(label: rule, colour: colour, key: .marker))
        }
        // Several crosses at one batch are spread sideways so each stays visible.
        var atBatch: [Double: Int] = [:]
        for run in excluded {
            guard let batch = run.globalBatch else { continue }
            let k = atBatch[batch, default: 0]
            atBatch[batch] = k + 1
            chart.edgeCross(x: batch, colour: Palette.colour(run.rule, among: rules), series: run.rule, run: run.run,
                            atTop: excludedAtTop, offset: Double((k + 1) / 2) * 7 * (k % 2 == 0 ? 1 : -1))
        }
        if !excluded.isEmpty {
            let label = excluded.allSatisfy(\.diverged) || excludedLabel != "diverged" ? excludedLabel : "diverged / no value"
            chart.legend.append(LegendEntry(label: label, colour: Palette.axis, key: .cross))
        }
        return chart
    }

    /// Train (dashed) and test (solid) accuracy against epoch, one pair of lines per run.
    static func accuracyCurves(_ runs: [CurveRun], id: String, title: String, small: Bool = true) -> Chart? {
        curves(runs, id: id, title: title, yLabel: "accuracy (fraction correct)", columns: ("train_acc", "test_acc"), small: small)
    }

    static func lossCurves(_ runs: [CurveRun], id: String, title: String, small: Bool = true) -> Chart? {
        curves(runs, id: id, title: title, yLabel: "loss (cross-entropy, nats)", columns: ("train_loss", "test_loss"), small: small)
    }

    private static func curves(_ runs: [CurveRun], id: String, title: String, yLabel: String,
                               columns: (train: String, test: String), small: Bool) -> Chart? {
        let series = runs.map { ($0, $0.data.evaluations(columns.train), $0.data.evaluations(columns.test)) }
        let all = series.flatMap { $0.1 + $0.2 }.filter { $0.x.isFinite && $0.y.isFinite }
        guard !all.isEmpty else { return nil }
        let size = small ? smallSize : mainSize
        var chart = Chart(id: id, title: title, xLabel: "epoch", yLabel: yLabel,
                          x: .linear(covering: all.map(\.x) + [0], includeZero: true, pad: 0),
                          y: .linear(covering: all.map(\.y)), width: size.width, height: size.height)
        if small { chart.right = 16 }  // before drawing: the margins fix where data lands
        let opacity = runs.count > 4 ? 0.75 : 1
        for (run, train, test) in series {
            chart.line(train, colour: run.colour, series: run.name, dashed: true, width: 1.3, opacity: opacity)
            chart.line(test, colour: run.colour, series: run.name, width: 1.6, opacity: opacity)
        }
        if !small {
            chart.legend = legend(runs)
            chart.legend.append(LegendEntry(label: "test", colour: Palette.axis, key: .line(dashed: false)))
            chart.legend.append(LegendEntry(label: "train", colour: Palette.axis, key: .line(dashed: true)))
        }
        return chart
    }

    /// A steps.csv column against step, one line per run, at most 500 points a line.
    static func perStep(_ runs: [CurveRun], column: String, id: String, title: String, yLabel: String,
                        small: Bool = true) -> Chart? {
        let series = runs.map { ($0, $0.data.perStep(column)) }
        let all = series.flatMap(\.1).filter { $0.x.isFinite && $0.y.isFinite }
        guard !all.isEmpty else { return nil }
        let size = small ? smallSize : mainSize
        var chart = Chart(id: id, title: title, xLabel: "optimizer step", yLabel: yLabel,
                          x: .linear(covering: all.map(\.x) + [0], includeZero: true, pad: 0),
                          y: .linear(covering: all.map(\.y), includeZero: true), width: size.width, height: size.height)
        if small { chart.right = 16 }  // before drawing: the margins fix where data lands
        for (run, points) in series {
            chart.line(points, colour: run.colour, series: run.name, width: 1.6)
        }
        if !small { chart.legend = legend(runs) }
        return chart
    }

    /// One legend line per rule among the runs, in their order.
    private static func legend(_ runs: [CurveRun]) -> [LegendEntry] {
        var seen: Set<String> = []
        return runs.compactMap { run in
            seen.insert(run.rule).inserted ? LegendEntry(label: run.rule, colour: run.colour, key: .line(dashed: false)) : nil
        }
    }

    /// Stacked bars per rank: compute, allreduce transfer, allreduce wait; groups side by side
    /// (one per run), the slowest rank of each group marked with a triangle.
    static func timing(_ groups: [(label: String, ranks: [RankTiming])], id: String, title: String,
                       xLabel: String = "rank, grouped by run") -> Chart? {
        let groups = groups.filter { !$0.ranks.isEmpty }
        guard !groups.isEmpty else { return nil }
        let gap = 0.8
        let slots = Double(groups.map(\.ranks.count).reduce(0, +)) + gap * Double(groups.count - 1)
        let tallest = groups.flatMap(\.ranks).map { $0.compute + $0.allreduce }.max() ?? 1
        var chart = Chart(id: id, title: title, xLabel: xLabel, yLabel: "time in timing.csv (seconds)",
                          x: Scale(kind: .linear, lo: 0, hi: max(slots, 1)),
                          y: .linear(covering: [0, tallest * 1.08], includeZero: true, pad: 0),
                          width: mainSize.width, height: mainSize.height + 20)
        chart.bottom = 62  // before drawing, as above
        var ticks: [Tick] = []
        var position = 0.0
        let labelRanks = groups.map(\.ranks.count).reduce(0, +) <= 40
        for group in groups {
            let start = position
            let slowest = RankTiming.slowest(group.ranks)
            for timing in group.ranks {
                let center = position + 0.5
                chart.stackedBar(center: center, width: 0.72, segments: [
                    ("compute", timing.compute, Palette.compute),
                    ("allreduce", timing.transfer, Palette.allreduce),
                    ("wait", timing.wait ?? 0, Palette.wait),
                ], label: "\(group.label) rank \(timing.rank)")
                ticks.append(Tick(value: center, label: labelRanks ? String(timing.rank) : nil))
                if group.ranks.count > 1, timing.rank == slowest {
                    chart.slowestMark(center: center, top: timing.compute + timing.allreduce, rank: timing.rank, group: group.label)
                }
                position += 1
            }
            chart.groupLabel(group.label, from: start, to: position)
            position += gap
        }
        chart.xTicks = ticks
        chart.legend = [
            LegendEntry(label: "compute", colour: Palette.compute, key: .swatch),
            LegendEntry(label: "allreduce", colour: Palette.allreduce, key: .swatch),
            LegendEntry(label: "wait", colour: Palette.wait, key: .swatch),
            LegendEntry(label: "slowest rank", colour: Palette.axis, key: .triangle),
        ]
        return chart
    }
}

extension Chart {
    /// A small triangle over a bar: the rank the others waited for.
    mutating func slowestMark(center: Double, top: Double, rank: Int, group: String) {
        let c = Format.coordinate
        let (cx, cy) = (px(center), py(top) - 4)
        overlay.append("<path d=\"M\(c(cx - 4)) \(c(cy - 7))L\(c(cx + 4)) \(c(cy - 7))L\(c(cx)) \(c(cy))Z\" fill=\"\(Palette.axis)\" "
                       + "data-role=\"slowest\" data-rank=\"\(rank)\" data-group=\"\(Format.escape(group))\"/>")
    }

    /// A group's name under its bars' rank numbers.
    mutating func groupLabel(_ text: String, from a: Double, to b: Double) {
        let c = Format.coordinate
        let y0 = plotY + plotHeight
        overlay.append("<text class=\"tick group\" x=\"\(c((px(a) + px(b)) / 2))\" y=\"\(c(y0 + 29))\" text-anchor=\"middle\">\(Format.escape(text))</text>")
    }
}
