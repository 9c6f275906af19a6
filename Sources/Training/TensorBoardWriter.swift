// Rank 0's TensorBoard event file in RUN/tb/ (a sweep's runs are subfolders of the sweep, so
// `tensorboard --logdir SWEEP` overlays them). Written at the run's flush points, never inside a
// step: the steps of a segment when steps.csv is appended, each evaluation with its metrics.csv
// row, and each epoch's per-rank phase times and allreduce waits. Tags are the CSV columns:
//   step/{loss,accuracy,lr,gns}     steps.csv, one point per optimizer step
//   eval/{train_loss,train_acc,test_loss,test_acc,gap,loss_gap,samples_per_sec}   metrics.csv
//   time/PHASE/rankR, time/allreduce_wait/rankR   seconds in the epoch (timing.csv, imbalance.csv)
import Collective
import Data
import Foundation
import Tensor

final class TensorBoardWriter {
    static let folderName = "tb"
    let path: String
    private let descriptor: Int32

    /// A new event file in RUN/tb/ whose steps start at `firstStep` (a resumed run adds one). It
    /// opens with a SessionLog START at that step: TensorBoard reads the files in name order and
    /// drops the points of that step and later read before it, so the steps a run killed after its
    /// last checkpoint had written, and its resumed launch writes again, are not shown twice.
    init(folder: RunFolder, firstStep: Int = 1) throws {
        let directory = folder.file(Self.folderName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ConfigError("cannot create \(directory): \(FileProblem.describe(error, path: directory))")
        }
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        path = (directory as NSString).appendingPathComponent("events.out.tfevents.\(Int(now)).\(host).\(getpid())")
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0o644)
        guard descriptor >= 0 else { throw ConfigError("cannot create \(path): \(String(cString: strerror(errno)))") }
        try write([TensorBoardEvent.fileVersion(wallTime: now), TensorBoardEvent.sessionStart(step: firstStep, wallTime: now)])
    }

    deinit { close(descriptor) }

    /// The steps of one segment, the last being global step `lastStep` (1-based). Their wall
    /// times are spread evenly over the `seconds` the segment took, ending now.
    func writeSteps(_ records: [Trainer.StepResult], lastStep: Int, seconds: Double) throws {
        let end = Date().timeIntervalSince1970
        try write(records.enumerated().map { i, r in
            var values: [(tag: String, value: Float)] = [("step/loss", r.lossMean), ("step/accuracy", r.accuracy), ("step/lr", r.learningRate)]
            if let gns = r.noiseScale { values.append(("step/gns", Float(gns))) }
            let wallTime = end - seconds * Double(records.count - 1 - i) / Double(records.count)
            return TensorBoardEvent.scalars(values, step: lastStep - records.count + 1 + i, wallTime: wallTime)
        })
    }

    func writeEvaluation(_ row: MetricsRow) throws {
        let e = row.evaluation
        let values: [(tag: String, value: Float)] = [
            ("eval/train_loss", e.trainLoss), ("eval/train_acc", e.trainAcc), ("eval/test_loss", e.testLoss),
            ("eval/test_acc", e.testAcc), ("eval/gap", e.gap), ("eval/loss_gap", e.lossGap), ("eval/samples_per_sec", row.samplesPerSec),
        ].map { ($0.0, Float($0.1)) }
        try write([TensorBoardEvent.scalars(values, step: row.step, wallTime: Date().timeIntervalSince1970)])
    }

    /// The epoch that just ended (`trainer.timer`'s last): every rank's seconds in each phase and
    /// waiting in allreduces, gathered to rank 0 (one allgather) and written at global step `step`.
    /// Collective: every rank calls it when TensorBoard is on.
    static func writeEpoch(_ writer: TensorBoardWriter?, trainer: Trainer, step: Int, comm: Communicator) throws {
        guard let epoch = trainer.timer.epochs.last else { return }
        let steps = max(0, step - epoch.steps) ..< min(step, trainer.allreduceSeconds.count)
        let rows = comm.allgather(epoch.totals + Array(trainer.allreduceSeconds[steps]))
        let waits = TimingReport.imbalance(rows.map { Array($0.dropFirst(epoch.totals.count)) }).waits
        try agreed(comm) {
            guard let writer else { return }
            var values: [(tag: String, value: Float)] = []
            for phase in Phase.allCases {
                values += rows.indices.map { ("time/\(phase.name)/rank\($0)", Float(rows[$0][phase.rawValue])) }
            }
            values += waits.indices.map { ("time/allreduce_wait/rank\($0)", Float(waits[$0])) }
            try writer.write([TensorBoardEvent.scalars(values, step: step, wallTime: Date().timeIntervalSince1970)])
        }
    }

    /// What the events cost rank 0 per step (`ddp bench`): `records` written as one segment, as a
    /// run writes an epoch's steps, into a scratch folder that is removed afterwards.
    static func secondsPerStep(_ records: [Trainer.StepResult]) throws -> Double {
        let scratch = NSTemporaryDirectory() + "ddp-bench-tb-\(getpid())-\(UInt64(Date().timeIntervalSince1970 * 1e6))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let writer = try TensorBoardWriter(folder: try RunFolder.create(scratch))
        let start = monotonicSeconds()
        try writer.writeSteps(records, lastStep: records.count, seconds: 1)
        return (monotonicSeconds() - start) / Double(max(records.count, 1))
    }

    /// Frames the events as records and appends them with one write.
    private func write(_ events: [[UInt8]]) throws {
        var bytes: [UInt8] = []
        for event in events { TensorBoardEvent.record(event, into: &bytes) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            guard n > 0 else { throw ConfigError("cannot write \(path): \(String(cString: strerror(errno)))") }
            written += n
        }
    }
}
