// `ddp sweep`: every configuration of a SweepPlan inside one mpirun launch. All ranks walk the
// grid together; each point is a full `Trainer.run` (model and optimizer re-made from the seed)
// into its own run folder, and rank 0 appends its row to results.csv as soon as it ends, so a
// sweep cut short keeps every finished run. A diverged run is a result, not an error.
import Collective
import Data
import Foundation

public enum Sweep {
    public static let resultsHeader = "run,global_batch,rule,seed,optimizer,peak_lr,warmup_epochs,epochs,steps,test_acc,best_test_acc,"
        + "train_acc,gap,test_loss,train_loss,target,steps_to_target,wall_seconds,samples_per_sec,diverged,gns,sharpness,sharpness_random"

    /// Collective: every rank calls it. Returns the summaries in grid order. `resuming`: continue
    /// the sweep in `plan.directory`: finished points are kept, a point with a checkpoint continues
    /// from it, a point cut before its first checkpoint is moved aside and run again. `studyFile`:
    /// each new point's flags as a `ddp train` study file, for its config.toml.
    @discardableResult
    public static func run(_ plan: SweepPlan, comm: Communicator, console: Console, resuming: Bool = false,
                           studyFile: ((SweepPlan.Point) -> String)? = nil) throws -> [RunSummary] {
        let say: (String) -> Void = { if comm.rank == 0 { console.line($0) } }
        let data = try agreed(comm) { try Trainer.loadData(plan.base.data, seed: plan.dataSeed) }
        let directory = plan.directory ?? RunFolder.defaultPath(prefix: "sweeps")
        let points = plan.points(in: directory)
        let recorded = resuming ? try recordedStarts(points, comm: comm) : Recorded()
        // Every point is checked before the first one runs: a bad grid costs nothing.
        try agreed(comm) {
            let counts = rankCounts(points, recordedGhosts: recorded.ghostBatches, ranRanks: recorded.ranks)
            // No count at all: a point's ghost batch does not divide its global batch, which that
            // point's own check below names (a list of no counts would say nothing).
            if !counts.contains(comm.size), !counts.isEmpty {
                if let ran = recorded.ranks, counts == [ran], points.contains(where: { $0.settings.sync != nil }) {
                    throw ConfigError("this sweep ran on \(ran) ranks and has local-SGD points, where each rank is a replica: "
                                      + "it continues only on \(ran) (on \(comm.size) its points would be another algorithm than those already run)")
                }
                let ghosts = counts == ResolvedConfig.rankCounts(splitting: plan.globalBatches.map { ($0, nil) })
                    ? "" : ", into its ghost batches"
                let problem = plan.globalBatches.first { $0 % comm.size != 0 }.map { "global batch \($0) of this sweep is not divisible by" }
                    ?? "the ghost batches of this sweep do not divide over"
                throw ConfigError("\(problem) the \(comm.size) ranks; it can run on \(ResolvedConfig.listing(counts)) ranks "
                                  + "(they divide every global batch\(ghosts))")
            }
            for point in points {
                do {
                    let config = try ResolvedConfig(point.settings, ranks: comm.size, data: data)
                    try Trainer.check(try Trainer.buildModel(point.settings, data: data), config)
                } catch {
                    throw ConfigError("\(point.name): \(error)")
                }
            }
        }
        let folder = try agreed(comm) { () -> RunFolder? in
            guard comm.rank == 0 else { return nil }
            return resuming ? try RunFolder.open(directory) : try RunFolder.create(directory)
        }
        if !resuming { try agreed(comm) { try folder?.writeJSON("sweep.json", plan) } }
        let states = try pointStates(points, folder: folder, comm: comm, resuming: resuming)
        let ghosts = (plan.ghostBatches?.count ?? 0) > 1 ? "\(plan.ghostBatches!.count) ghost batches x " : ""
        say("swift-ddp sweep: \(points.count) runs (\(plan.globalBatches.count) batches x \(plan.rules.count) rules x \(ghosts)"
            + "\(plan.seeds.count) seeds, \(plan.budget)) on \(comm.size) rank(s) -> \(directory)"
            + (resuming ? " (resuming: \(states.filter { $0.summary != nil }.count) done, \(states.filter(\.hasCheckpoint).count) to continue)" : ""))

        // Runs print nothing of their own; the sweep prints one line per run.
        let quiet = Console(line: { _ in }, progress: console.progress)
        var summaries: [RunSummary] = []
        for (index, (point, state)) in zip(points, states).enumerated() {
            let summary: RunSummary
            if let done = state.summary {
                summary = done
            } else if state.hasCheckpoint {
                let checkpoint = try Trainer.loadCheckpoint(point.settings.runDir!, comm: comm)
                summary = try Trainer.run(point.settings, comm: comm, console: quiet, data: data, resume: checkpoint)
            } else {
                summary = try Trainer.run(point.settings, comm: comm, console: quiet, data: data, studyFile: studyFile?(point))
            }
            summaries.append(summary)
            if summary.interrupted == true {
                // Stopped by a signal at a checkpoint: the sweep ends here; --resume continues this point.
                return summaries
            }
            if !state.hasRow {
                try agreed(comm) {
                    try folder?.append("results.csv", header: resultsHeader, lines: [resultsRow(point.name, summary)])
                }
            }
            say(resultLine(index: index, of: points.count, name: point.name, summary) + (state.summary != nil ? "  (done before)" : ""))
        }
        say("results: \(folder?.file("results.csv") ?? "")   report: ddp report \(directory)")
        return summaries
    }

    /// The rank counts that can run this sweep, or continue it after a stop: every point's global
    /// batch split over the ranks, into the point's ghost batches; a point that holds a checkpoint
    /// keeps the ghost batch its BatchNorm used there (`recordedGhosts`, by point name). A sweep with
    /// local-SGD points that has run (`ranRanks`) stays on that count: each rank is a replica there,
    /// so its points on another count would be another algorithm than their siblings already run.
    /// The refusal of another -np and the line after a stop both say these.
    public static func rankCounts(_ points: [SweepPlan.Point], recordedGhosts: [String: Int], ranRanks: Int?) -> [Int] {
        let counts = ResolvedConfig.rankCounts(splitting: points.map {
            ($0.settings.globalBatch ?? $0.settings.batchPerRank, recordedGhosts[$0.name] ?? $0.settings.ghostBatch)
        })
        guard let ranRanks, points.contains(where: { $0.settings.sync != nil }) else { return counts }
        return counts.filter { $0 == ranRanks }
    }

    /// What the points a sweep started recorded, read by rank 0 and shared with every rank.
    struct Recorded: Codable {
        /// The ghost batch of each unfinished point's checkpoint, by point name.
        var ghostBatches: [String: Int] = [:]
        /// The ranks of the last started point (its checkpoint, or its summary if it finished).
        var ranks: Int?
    }

    /// A checkpoint or summary that does not load is left for the resume of that point to report.
    static func recordedStarts(_ points: [SweepPlan.Point], comm: Communicator) throws -> Recorded {
        var recorded = Recorded()
        if comm.rank == 0 {
            for point in points {
                let run = point.settings.runDir ?? point.name, file = run + "/" + Checkpoint.fileName
                if let summary = RunFolder.finishedSummary(run) {
                    recorded.ranks = summary["ranks"] as? Int ?? recorded.ranks
                    continue
                }
                guard let data = FileManager.default.contents(atPath: file),
                      let state = (try? Checkpoint.decode([UInt8](data), source: file))?.state else { continue }
                recorded.ranks = state.ranks
                if let ghost = state.ghostBatch { recorded.ghostBatches[point.name] = ghost }
            }
        }
        let bytes = comm.broadcast(bytes: comm.rank == 0 ? [UInt8](try JSONEncoder().encode(recorded)) : [], root: 0)
        return try JSONDecoder().decode(Recorded.self, from: Data(bytes))
    }

    /// Where each point stands, decided by rank 0 from the files and shared with every rank.
    struct PointState: Codable {
        var summary: RunSummary?
        var hasCheckpoint = false
        var hasRow = false
    }

    static func pointStates(_ points: [SweepPlan.Point], folder: RunFolder?, comm: Communicator, resuming: Bool) throws -> [PointState] {
        guard resuming else { return points.map { _ in PointState() } }
        let encoded = try agreed(comm) { () -> [UInt8] in
            guard let folder else { return [] }
            let fm = FileManager.default
            let rows = try completeResultRows(folder.file("results.csv"))
                .split(separator: "\n").dropFirst().map { String($0.prefix { $0 != "," }) }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            var states: [PointState] = []
            for point in points {
                let run = folder.file(point.name)
                var state = PointState(hasRow: rows.contains(point.name))
                if RunFolder.finishedSummary(run) != nil, let data = fm.contents(atPath: run + "/summary.json") {
                    state.summary = try decoder.decode(RunSummary.self, from: data)
                } else if fm.fileExists(atPath: run + "/" + Checkpoint.fileName) {
                    state.hasCheckpoint = true
                    state.hasRow = false
                } else if fm.fileExists(atPath: run) {
                    // Cut before its first checkpoint: kept aside, never overwritten, and run again.
                    var aside = run + ".incomplete"
                    var k = 2
                    while fm.fileExists(atPath: aside) {
                        aside = run + ".incomplete-\(k)"
                        k += 1
                    }
                    try fm.moveItem(atPath: run, toPath: aside)
                }
                states.append(state)
            }
            let encoder = JSONEncoder()
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return [UInt8](try encoder.encode(states))
        }
        let shared = comm.broadcast(bytes: encoded, root: 0)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode([PointState].self, from: Data(shared))
    }

    /// results.csv's text up to its last complete line. A row cut mid-write (the disk filled, the
    /// node died) is removed from the file: kept, its run name would count as recorded though the
    /// row is not, and the next row would be appended onto its end. The point's summary.json gives
    /// the row again. A header cut short leaves no file, so the next append writes the header whole.
    static func completeResultRows(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        guard !text.isEmpty, !text.hasSuffix("\n") else { return text }
        let kept = String(text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)])
        do {
            if kept.isEmpty {
                try FileManager.default.removeItem(atPath: path)
            } else {
                try Data(kept.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            }
        } catch {
            throw ConfigError("\(path) ends in a row cut short, which could not be removed: \(FileProblem.describe(error, path: path))")
        }
        return kept
    }

    static func resultsRow(_ name: String, _ s: RunSummary) -> String {
        let optional: (Double?, Int) -> String = { value, digits in value.map { fmt($0, digits) } ?? "" }
        // Sharpness spans decades (Keskar et al.'s random-subspace figure is about 1e-3 here, a small
        // eps gives less): six significant digits, where "%.4f" wrote 0.0038 and 4e-5 as 0.0000.
        let significant: (Double?) -> String = { value in value.flatMap { $0.isFinite ? String(format: "%.6g", $0) : nil } ?? "" }
        // A diverged run has no final accuracy worth plotting: those cells stay empty.
        let final: (Double?) -> String = { value in s.diverged ? "" : optional(value, 6) }
        return [
            name, "\(s.globalBatch)", s.rule, "\(s.seed)", s.optimizer, "\(s.peakLr)", "\(s.warmupEpochs)", "\(s.epochs)", "\(s.steps)",
            final(s.testAcc), optional(s.bestTestAcc, 6), final(s.trainAcc), final(s.gap), final(s.testLoss), final(s.trainLoss),
            optional(s.target, 4), s.stepsToTarget.map(String.init) ?? "", fmt(s.wallSeconds, 3), s.samplesPerSec.map { fmt($0, 1) } ?? "",
            s.diverged ? "yes" : "no", optional(s.gns, 2), significant(s.sharpness), significant(s.sharpnessRandom),
        ].joined(separator: ",")
    }

    static func resultLine(index: Int, of count: Int, name: String, _ s: RunSummary) -> String {
        let width = String(count).count
        let position = "[\(String(repeating: " ", count: width - String(index + 1).count))\(index + 1)/\(count)]"
        if s.diverged {
            return "\(position) \(pad(name, 30)) DIVERGED at step \(s.divergedStep ?? s.steps) (peak lr \(String(format: "%.4g", s.peakLr)))"
        }
        guard let testAcc = s.testAcc, let trainAcc = s.trainAcc, let gap = s.gap else {
            return "\(position) \(pad(name, 30)) not evaluated  steps \(s.steps)  \(fmt(s.wallSeconds, 1)) s"
        }
        var line = "\(position) \(pad(name, 30)) test \(fmt(testAcc, 4)) (best \(fmt(s.bestTestAcc ?? testAcc, 4)))  train \(fmt(trainAcc, 4))"
            + "  gap \(String(format: "%+.4f", gap))  steps \(s.steps)"
        if s.target != nil { line += "  to target " + (s.stepsToTarget.map(String.init) ?? "-") }
        if let gns = s.gns { line += "  gns \(String(format: "%.0f", gns))" }
        if let sharpness = s.sharpness { line += "  sharpness \(String(format: "%.3g", sharpness))" }
        return line + "  \(fmt(s.wallSeconds, 1)) s"
    }
}
