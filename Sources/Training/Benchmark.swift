// `ddp bench`: for each batch per rank, the training step as it really runs (real data, real
// allreduce) timed step by step after a warm-up, against its GEMM ceiling: the same step's matrix
// products replayed alone through cblas_sgemm on every rank at once. Figures are ratios measured
// in one launch, so a shared, noisy machine still gives comparable numbers.
import Collective
import Data
import Foundation
import NN
import Tensor

public struct BenchSettings: Sendable {
    public var base: TrainConfig
    public var batchesPerRank: [Int]
    public var steps: Int
    public var warmup: Int
    /// Also time rank 0 alone (the others wait) for weak-scaling efficiency.
    public var scaling: Bool

    public init(base: TrainConfig, batchesPerRank: [Int], steps: Int, warmup: Int, scaling: Bool) {
        (self.base, self.batchesPerRank, self.steps, self.warmup, self.scaling) = (base, batchesPerRank, steps, warmup, scaling)
    }
}

public struct BenchResult: Codable, Sendable {
    public var batchPerRank: Int
    public var globalBatch: Int
    public var samplesPerSec: Double
    public var medianStepSeconds: Double
    /// Median seconds per step in each phase, rank 0.
    public var phaseSeconds: [String: Double]
    public var allreduceShare: Double
    /// Matrix-product FLOPs of one rank's step, and the rate achieved over the whole step.
    public var flopsPerRankStep: Double
    public var achievedGflops: Double
    /// The same products alone: their median time and rate.
    public var gemmSeconds: Double
    public var ceilingGflops: Double
    public var fractionOfCeiling: Double
    public var singleRankSamplesPerSec: Double?
    public var weakScalingEfficiency: Double?
    /// Rank 0's cost of TensorBoard events per step: the timed steps written as a run writes them.
    public var tensorboardSecondsPerStep: Double?
}

public struct BenchRecord: Codable, Sendable {
    public var model: String
    public var parameters: Int
    public var ranks: Int
    public var hosts: [String]
    public var blasCore: String
    public var blasConfig: String
    public var steps: Int
    public var warmup: Int
    public var noiseScale: Bool
    public var peakResidentMB: [Double]
    public var results: [BenchResult]
}

public enum Benchmark {
    /// Collective: every rank calls it.
    public static func run(_ settings: BenchSettings, comm: Communicator, console: Console) throws -> BenchRecord {
        let say: (String) -> Void = { if comm.rank == 0 { console.line($0) } }
        let data = try agreed(comm) { try Trainer.loadData(settings.base.data, seed: settings.base.seed) }
        let hosts = comm.allgather(comm.hostName)
        var results: [BenchResult] = []
        var modelName = settings.base.model, parameterCount = 0
        for batch in settings.batchesPerRank {
            var c = settings.base
            (c.batchPerRank, c.accumulate, c.globalBatch, c.maxSteps) = (batch, 1, nil, settings.warmup + settings.steps)
            let config = try agreed(comm) { try ResolvedConfig(c, ranks: comm.size, data: data) }
            let model = try agreed(comm) { try Trainer.buildModel(c, data: data) }
            let trainer = Trainer(config: config, data: data, model: model, comm: comm)
            try trainer.synchronizeInitialWeights()
            if results.isEmpty {
                modelName = trainer.modelDescription
                parameterCount = trainer.layout.count
                say("swift-ddp bench: \(modelName) (\(parameterCount) parameters) on \(comm.size) rank(s), OpenBLAS \(BLASInfo.coreName), "
                    + "\(settings.steps) timed steps after \(settings.warmup) warm-up, noise scale \(c.noiseScale ? "on" : "off")")
            }
            let shapes = model.matrixProducts(batch: batch)
            let flops = shapes.reduce(0) { $0 + $1.flops }
            comm.barrier()
            let gemmSeconds = GEMMCeiling.measure(shapes)
            comm.barrier()
            let (medianStep, phases, records) = time(trainer, warmup: settings.warmup, steps: settings.steps)


            var single: Double?
            if settings.scaling && comm.size > 1 {
                // Rank 0 alone, same batch per rank; the others wait in the barrier.
                if comm.rank == 0 {
                    let alone = try ResolvedConfig(c, ranks: 1, data: data)
                    let soloTrainer = Trainer(config: alone, data: data, model: try Trainer.buildModel(c, data: data), comm: LocalCommunicator())
                    try soloTrainer.synchronizeInitialWeights()
                    single = Double(batch) / time(soloTrainer, warmup: settings.warmup, steps: settings.steps).median
                }
                comm.barrier()
            }
            let stepTotal = Phase.allCases.filter { !$0.isOutsideStep }.reduce(0) { $0 + phases[$1.rawValue] }  // sum of medians
            let samplesPerSec = Double(config.globalBatch) / medianStep
            var result = BenchResult(
                batchPerRank: batch, globalBatch: config.globalBatch, samplesPerSec: samplesPerSec,
                medianStepSeconds: medianStep,
                phaseSeconds: Dictionary(uniqueKeysWithValues: Phase.allCases.filter { !$0.isOutsideStep }.map { ($0.name, phases[$0.rawValue]) }),
                allreduceShare: phases[Phase.allreduce.rawValue] / stepTotal,
                flopsPerRankStep: flops, achievedGflops: flops / medianStep / 1e9,
                gemmSeconds: gemmSeconds, ceilingGflops: flops / gemmSeconds / 1e9,
                fractionOfCeiling: gemmSeconds / medianStep)
            if comm.rank == 0 && c.tensorboard { result.tensorboardSecondsPerStep = try TensorBoardWriter.secondsPerStep(records) }
            if let single {
                result.singleRankSamplesPerSec = single
                result.weakScalingEfficiency = samplesPerSec / (Double(comm.size) * single)
            }
            results.append(result)
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let resident = comm.allgather([Double(usage.ru_maxrss) / 1024]).map { $0[0] }
        return BenchRecord(model: modelName, parameters: parameterCount, ranks: comm.size, hosts: hosts,
                           blasCore: BLASInfo.coreName, blasConfig: BLASInfo.configuration, steps: settings.steps,
                           warmup: settings.warmup, noiseScale: settings.base.noiseScale, peakResidentMB: resident, results: results)
    }

    /// Median step seconds after the warm-up, and the median of each phase over the same steps
    /// (medians, so one step slowed by a neighbour on a shared machine does not move them).
    static func time(_ trainer: Trainer, warmup: Int, steps: Int) -> (median: Double, phases: [Double], records: [Trainer.StepResult]) {
        var times = [Double](repeating: 0, count: steps)
        var records: [Trainer.StepResult] = []
        records.reserveCapacity(steps)
        var phaseTimes = [[Double]](repeating: [Double](repeating: 0, count: steps), count: Phase.allCases.count)
        var epoch = 0, stepInEpoch = 0
        trainer.sampler.startEpoch(0)
        for i in 0..<(warmup + steps) {
            if stepInEpoch == trainer.config.stepsPerEpoch {
                epoch += 1
                stepInEpoch = 0
                trainer.sampler.startEpoch(epoch)
            }
            let start = monotonicSeconds()
            let result = trainer.trainStep(i, stepInEpoch: stepInEpoch)
            if i >= warmup {
                records.append(result)
                times[i - warmup] = monotonicSeconds() - start
                for p in 0..<phaseTimes.count { phaseTimes[p][i - warmup] = trainer.timer.lastStep[p] }
            }
            stepInEpoch += 1
        }
        return (median(times), phaseTimes.map(median), records)
    }

    /// The table rank 0 prints.
    public static func table(_ record: BenchRecord) -> String {
        var lines = ["batch/rank  samples/s  step ms   data  forward backward allreduce optimizer  allreduce%  GFLOP/s  ceiling  of ceiling  weak scaling"]
        for r in record.results {
            let ms: (String) -> String = { String(format: "%7.3f", (r.phaseSeconds[$0] ?? 0) * 1000) }
            lines.append(String(format: "%10d %10.0f %8.3f", r.batchPerRank, r.samplesPerSec, r.medianStepSeconds * 1000)
                + " \(ms("data")) \(ms("forward")) \(ms("backward"))  \(ms("allreduce"))   \(ms("optimizer"))"
                + String(format: "  %9.1f%% %8.1f %8.1f %10.0f%%", 100 * r.allreduceShare, r.achievedGflops, r.ceilingGflops, 100 * r.fractionOfCeiling)
                + (r.weakScalingEfficiency.map { String(format: "  %11.0f%%", 100 * $0) } ?? ""))
        }
        lines.append("(phase columns: median ms per step on rank 0; GFLOP/s per rank, matrix products only; ceiling: the same products "
                     + "alone through cblas_sgemm; peak resident " + record.peakResidentMB.map { String(format: "%.0f", $0) }.joined(separator: "/") + " MB per rank)")
        let tensorboard = record.results.compactMap { r in r.tensorboardSecondsPerStep.map { String(format: "%.1f us at batch %d", $0 * 1e6, r.batchPerRank) } }
        if !tensorboard.isEmpty {
            lines.append("TensorBoard events (rank 0, written at flush points, --no-tensorboard: none): " + tensorboard.joined(separator: ", ") + " per step")
        }
        return lines.joined(separator: "\n")
    }
}
