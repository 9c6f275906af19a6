// `ddp sweep`: every configuration of a SweepPlan inside one mpirun launch. All ranks walk the
// grid together; each point is a full `Trainer.run` (model and optimizer re-made from the seed)
// into its own run folder, and rank 0 appends its row to results.csv as soon as it ends, so a
// sweep cut short keeps every finished run. A diverged run is a result, not an error.
import Collective
import Data
import Foundation

public enum Sweep {
    public static let resultsHeader = "run,global_batch,rule,seed,optimizer,peak_lr,warmup_epochs,epochs,steps,test_acc,best_test_acc,"
        + "train_acc,gap,test_loss,train_loss,target,steps_to_target,wall_seconds,samples_per_sec,diverged,gns,sharpness"

    /// Collective: every rank calls it. Returns the summaries in grid order.
    @discardableResult
    public static func run(_ plan: SweepPlan, comm: Communicator, console: Console) throws -> [RunSummary] {
        let say: (String) -> Void = { if comm.rank == 0 { console.line($0) } }
        let data = try agreed(comm) { try Trainer.loadData(plan.base.data, seed: plan.seeds[0]) }
        let directory = plan.directory ?? RunFolder.defaultPath(prefix: "sweeps")
        let points = plan.points(in: directory)
        // Every point is checked before the first one runs: a bad grid costs nothing.
        try agreed(comm) {
            for point in points {
                do {
                    _ = try ResolvedConfig(point.settings, ranks: comm.size, data: data)
                    _ = try Trainer.buildModel(point.settings, data: data)
                } catch {
                    throw ConfigError("\(point.name): \(error)")
                }
            }
        }
        let folder = try agreed(comm) { comm.rank == 0 ? try RunFolder.create(directory) : nil }
        try agreed(comm) { try folder?.writeJSON("sweep.json", plan) }
        say("swift-ddp sweep: \(points.count) runs (\(plan.globalBatches.count) batches x \(plan.rules.count) rules x "
            + "\(plan.seeds.count) seeds, \(plan.budget)) on \(comm.size) rank(s) -> \(directory)")

        // Runs print nothing of their own; the sweep prints one line per run.
        let quiet = Console(line: { _ in }, progress: console.progress)
        var summaries: [RunSummary] = []
        for (index, point) in points.enumerated() {
            let summary = try Trainer.run(point.settings, comm: comm, console: quiet, data: data)
            summaries.append(summary)
            try agreed(comm) {
                try folder?.append("results.csv", header: resultsHeader, lines: [resultsRow(point.name, summary)])
            }
            say(resultLine(index: index, of: points.count, name: point.name, summary))
        }
        say("results: \(folder?.file("results.csv") ?? "")   report: ddp report \(directory)")
        return summaries
    }

    static func resultsRow(_ name: String, _ s: RunSummary) -> String {
        let optional: (Double?, Int) -> String = { value, digits in value.map { fmt($0, digits) } ?? "" }
        // A diverged run has no final accuracy worth plotting: those cells stay empty.
        let final: (Double) -> String = { s.diverged ? "" : fmt($0, 6) }
        return [
            name, "\(s.globalBatch)", s.rule, "\(s.seed)", s.optimizer, "\(s.peakLr)", "\(s.warmupEpochs)", "\(s.epochs)", "\(s.steps)",
            final(s.testAcc), optional(s.bestTestAcc, 6), final(s.trainAcc), final(s.gap), final(s.testLoss), final(s.trainLoss),
            optional(s.target, 4), s.stepsToTarget.map(String.init) ?? "", fmt(s.wallSeconds, 3), fmt(s.samplesPerSec, 1),
            s.diverged ? "yes" : "no", optional(s.gns, 2), optional(s.sharpness, 4),
        ].joined(separator: ",")
    }

    static func resultLine(index: Int, of count: Int, name: String, _ s: RunSummary) -> String {
        let width = String(count).count
        let position = "[\(String(repeating: " ", count: width - String(index + 1).count))\(index + 1)/\(count)]"
        if s.diverged {
            return "\(position) \(pad(name, 30)) DIVERGED at step \(s.divergedStep ?? s.steps) (peak lr \(String(format: "%.4g", s.peakLr)))"
        }
        var line = "\(position) \(pad(name, 30)) test \(fmt(s.testAcc, 4)) (best \(fmt(s.bestTestAcc ?? 0, 4)))  train \(fmt(s.trainAcc, 4))"
            + "  gap \(String(format: "%+.4f", s.gap))  steps \(s.steps)"
        if s.target != nil { line += "  to target " + (s.stepsToTarget.map(String.init) ?? "-") }
        if let gns = s.gns { line += "  gns \(String(format: "%.0f", gns))" }
        if let sharpness = s.sharpness { line += "  sharpness \(String(format: "%.3g", sharpness))" }
        return line + "  \(fmt(s.wallSeconds, 1)) s"
    }
}
