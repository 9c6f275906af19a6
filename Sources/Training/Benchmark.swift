// `ddp bench`: for each batch per rank, the training step as it really runs (real data, real
// allreduce) timed step by step after a warm-up. Its FLOPs (counted by the model, layer by layer)
// over the median step give the achieved rate, set against two yardsticks measured in the same
// launch on every rank at once: the core's sgemm peak (a large square single-threaded product)
// and the GEMM ceiling (the step's own matrix products replayed alone). Figures are ratios
// measured in one launch, so a shared, noisy machine still gives comparable numbers.
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
    /// Also time every layer's forward and backward pass (extra steps after the step timing).
    public var layers: Bool

    public init(base: TrainConfig, batchesPerRank: [Int], steps: Int, warmup: Int, scaling: Bool, layers: Bool = false) {
        (self.base, self.batchesPerRank, self.steps, self.warmup, self.scaling, self.layers) = (base, batchesPerRank, steps, warmup, scaling, layers)
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
    /// FLOPs of one rank's step as the model counts them (Layer.flops: products, BatchNorm, pooling,
    /// the loss...), and the rate achieved over the whole median step.
    public var flopsPerRankStep: Double
    public var achievedGflops: Double
    /// That rate over the core's sgemm peak (BenchRecord.peakGflops).
    public var fractionOfPeak: Double
    /// The step's matrix products alone: their FLOPs, median time and rate; time over the median step.
    public var gemmFlopsPerRankStep: Double
    public var gemmSeconds: Double
    public var ceilingGflops: Double
    public var fractionOfCeiling: Double
    public var singleRankSamplesPerSec: Double?
    public var weakScalingEfficiency: Double?
    /// Rank 0's cost of TensorBoard events per step: the timed steps written as a run writes them.
    public var tensorboardSecondsPerStep: Double?
    /// With --layers: mean milliseconds per step of each layer's passes, rank 0.
    public var layers: [LayerTiming]?
}

public struct LayerTiming: Codable, Sendable {
    public var path: String
    public var layer: String
    public var forwardMs: Double
    public var backwardMs: Double
    public var forwardGflops: Double
    public var backwardGflops: Double
}

public struct BenchRecord: Codable, Sendable {
    public var model: String
    public var parameters: Int
    public var ranks: Int
    public var hosts: [String]
    public var cpu: String
    public var blasCore: String
    public var blasConfig: String
    /// Which convolution kernels ran (DirectKernels.inUse); absent in records made before them.
    public var convKernels: String?
    /// Single-threaded cblas_sgemm of two square matrices (BenchRecord.peakSize), every rank at once: GFLOP/s, median over ranks.
    public var peakGflops: Double
    public var peakSize: Int
    public var steps: Int
    public var warmup: Int
    public var noiseScale: Bool
    public var peakResidentMB: [Double]
    public var results: [BenchResult]
    /// With more than one rank: one float and the whole gradient allreduced alone (NetworkBench's
    /// timing) in the same launch, before the first batch's rows and after the last. On a VM whose
    /// vCPUs the host places anew whenever one idles (rank 0 timing itself alone for --scaling lets
    /// the other idle), these tell the launch's mode: on the 2-vCPU AMD EPYC VMs of BENCHMARKS.md a
    /// 1-float allreduce takes about 0.3 us when the host put the two vCPUs near each other and
    /// 0.5-0.9 us when not (the gradient's then about 3x slower), and the allreduce column follows it.
    public var allreduceAlone: [AllreduceSample]?
    public var allreduceAloneAfter: [AllreduceSample]?
}

public enum Benchmark {
    /// The settings a timed batch per rank runs with: no accumulation, warmup + steps steps.
    static func settings(_ base: TrainConfig, batchPerRank batch: Int, steps: Int) -> TrainConfig {
        var c = base
        (c.batchPerRank, c.accumulate, c.globalBatch, c.maxSteps) = (batch, 1, nil, steps)
        return c
    }

    /// Every batch checked on every rank before any is timed, as a run checks itself (Trainer.check):
    /// a refusal is one message at once, not found after the others were timed, and not by rank 0
    /// alone (timing one rank by itself) while the others wait for it in a barrier.
    static func checkBatches(_ base: TrainConfig, _ batches: [Int], steps: Int, comm: Communicator, data: DataSplit) throws {
        try agreed(comm) {
            let model = try Trainer.buildModel(base, data: data)
            for batch in batches {
                do {
                    try Trainer.check(model, try ResolvedConfig(settings(base, batchPerRank: batch, steps: steps), ranks: comm.size, data: data))
                } catch {
                    throw ConfigError("batch per rank \(batch): \(error)")
                }
            }
        }
    }

    /// Collective: every rank calls it.
    public static func run(_ settings: BenchSettings, comm: Communicator, console: Console) throws -> BenchRecord {
        let say: (String) -> Void = { if comm.rank == 0 { console.line($0) } }
        let data = try agreed(comm) { try Trainer.loadData(settings.base.data, seed: settings.base.dataSeed ?? settings.base.seed) }
        try checkBatches(settings.base, settings.batchesPerRank, steps: settings.warmup + settings.steps, comm: comm, data: data)
        let hosts = comm.allgather(comm.hostName)
        var results: [BenchResult] = []
        var modelName = settings.base.model, parameterCount = 0
        var before: [AllreduceSample]?
        // The core's peak, every rank at once (as the step runs), taken as the median over ranks.
        comm.barrier()
        let peakShape = GEMMShape(m: peakSize, n: peakSize, k: peakSize)
        let peakGflops = median(comm.allgather([peakShape.flops / GEMMCeiling.measure([peakShape]) / 1e9]).map { $0[0] })
        say("sgemm peak: \(String(format: "%.1f", peakGflops)) GFLOP/s per rank (\(peakSize)^3, one thread, \(comm.size) rank(s) at once) on \(cpuName)")
        for batch in settings.batchesPerRank {
            let c = Benchmark.settings(settings.base, batchPerRank: batch, steps: settings.warmup + settings.steps)
            let config = try agreed(comm) { try ResolvedConfig(c, ranks: comm.size, data: data) }
            let model = try agreed(comm) { try Trainer.buildModel(c, data: data) }
            let trainer = Trainer(config: config, data: data, model: model, comm: comm)
            try trainer.synchronizeInitialWeights()
            if results.isEmpty {
                modelName = trainer.modelDescription
                parameterCount = trainer.layout.count
                say("swift-ddp bench: \(modelName) (\(parameterCount) parameters) on \(comm.size) rank(s), OpenBLAS \(BLASInfo.coreName), "
                    + "convolutions \(DirectKernels.inUse), "
                    + "\(settings.steps) timed steps after \(settings.warmup) warm-up, noise scale \(c.noiseScale ? "on" : "off")")
                if comm.size > 1 { before = timeAllreduceAlone(floats: parameterCount, comm: comm, say: say, when: "before the rows") }
            }
            let shapes = model.matrixProducts(batch: batch)
            let gemmFlops = shapes.reduce(0) { $0 + $1.flops }
            let flops = model.flops(batch: batch).total
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
                fractionOfPeak: flops / medianStep / 1e9 / peakGflops,
                gemmFlopsPerRankStep: gemmFlops, gemmSeconds: gemmSeconds, ceilingGflops: gemmFlops / gemmSeconds / 1e9,
                fractionOfCeiling: gemmSeconds / medianStep)
            if comm.rank == 0 && c.tensorboard { result.tensorboardSecondsPerStep = try TensorBoardWriter.secondsPerStep(records) }
            if settings.layers {
                result.layers = timeLayers(trainer, model: model, batch: batch, steps: settings.steps)
            }
            if let single {
                result.singleRankSamplesPerSec = single
                result.weakScalingEfficiency = samplesPerSec / (Double(comm.size) * single)
            }
            results.append(result)
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let resident = comm.allgather([Double(usage.ru_maxrss) / 1024]).map { $0[0] }
        let after = comm.size > 1 ? timeAllreduceAlone(floats: parameterCount, comm: comm, say: say, when: "after the rows") : nil
        return BenchRecord(model: modelName, parameters: parameterCount, ranks: comm.size, hosts: hosts, cpu: cpuName,
                           blasCore: BLASInfo.coreName, blasConfig: BLASInfo.configuration, convKernels: DirectKernels.inUse, peakGflops: peakGflops, peakSize: peakSize, steps: settings.steps,
                           warmup: settings.warmup, noiseScale: settings.base.noiseScale, peakResidentMB: resident, results: results,
                           allreduceAlone: before, allreduceAloneAfter: after)
    }

    /// One float and `floats` floats allreduced alone (BenchRecord.allreduceAlone says why), printed.
    static func timeAllreduceAlone(floats: Int, comm: Communicator, say: (String) -> Void, when: String) -> [AllreduceSample] {
        let samples = NetworkBench.timeAllreduce(sizes: [4, 4 * floats], comm: comm)
        say("allreduce alone \(when) (median of the slowest rank): "
            + samples.map { String(format: "%ld bytes %.1f us", $0.bytes, $0.seconds * 1e6) }.joined(separator: ", "))
        return samples
    }

    /// Side of the square sgemm that measures the core's peak.
    static let peakSize = 1536

    /// The CPU's model name (/proc/cpuinfo), for the record.
    static var cpuName: String {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }

    /// Every layer's mean forward and backward time per step over `steps` more steps, with the
    /// profiler on (rank 0's figures; every rank runs the steps, which hold the allreduce).
    static func timeLayers(_ trainer: Trainer, model: Model, batch: Int, steps: Int) -> [LayerTiming] {
        let profiler = LayerProfiler(model: model)
        LayerProfiler.active = profiler
        _ = time(trainer, warmup: 0, steps: steps)
        LayerProfiler.active = nil
        var rows: [LayerTiming] = []
        for (i, entry) in profiler.entries.enumerated() where profiler.forwardSeconds[i] > 0 {
            let flops = entry.layer.flops(batch: batch, inputGradient: i > 0)
            let (forward, backward) = (profiler.forwardSeconds[i] / Double(steps), profiler.backwardSeconds[i] / Double(steps))
            rows.append(LayerTiming(path: entry.path, layer: describe(entry.layer), forwardMs: forward * 1000, backwardMs: backward * 1000,
                                    forwardGflops: forward > 0 ? flops.forward / forward / 1e9 : 0,
                                    backwardGflops: backward > 0 ? flops.backward / backward / 1e9 : 0))
        }
        return rows
    }

    /// "Conv2D 16x28x28 -> 16x28x28".
    static func describe(_ layer: Layer) -> String {
        let shape: ([Int]) -> String = { $0.map(String.init).joined(separator: "x") }
        return "\(type(of: layer)) \(shape(layer.inputShape)) -> \(shape(layer.outputShape))"
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
        var lines = ["batch/rank  samples/s  step ms   data  forward backward allreduce optimizer  allreduce%  GFLOP/s  of peak  ceiling  of ceiling  weak scaling"]
        for r in record.results {
            let ms: (String) -> String = { String(format: "%7.3f", (r.phaseSeconds[$0] ?? 0) * 1000) }
            lines.append(String(format: "%10ld %10.0f %8.3f", r.batchPerRank, r.samplesPerSec, r.medianStepSeconds * 1000)
                + " \(ms("data")) \(ms("forward")) \(ms("backward"))  \(ms("allreduce"))   \(ms("optimizer"))"
                + String(format: "  %9.1f%% %8.1f %7.0f%% %8.1f %10.0f%%", 100 * r.allreduceShare, r.achievedGflops, 100 * r.fractionOfPeak,
                         r.ceilingGflops, 100 * r.fractionOfCeiling)
                + (r.weakScalingEfficiency.map { String(format: "  %11.0f%%", 100 * $0) } ?? ""))
        }
        lines.append("(phase columns: median ms per step on rank 0; GFLOP/s per rank, the model's count of the step's operations; "
                     + String(format: "of peak: over %.1f GFLOP/s, a %ld^3 sgemm; ", record.peakGflops, record.peakSize)
                     + "ceiling: the step's matrix products alone through cblas_sgemm; peak resident "
                     + record.peakResidentMB.map { String(format: "%.0f", $0) }.joined(separator: "/") + " MB per rank)")
        for r in record.results {
            guard let layers = r.layers else { continue }
            lines.append("layers at \(r.batchPerRank) per rank (mean ms per step, rank 0; a block's line includes its layers' lines):")
            lines.append("  forward ms  GFLOP/s  backward ms  GFLOP/s  layer")
            for l in layers {
                let depth = l.path.split(separator: ".").count / 2 - 1
                lines.append(String(format: "  %10.3f %8.1f %12.3f %8.1f  ", l.forwardMs, l.forwardGflops, l.backwardMs, l.backwardGflops)
                             + String(repeating: "  ", count: max(depth, 0)) + "\(l.path) \(l.layer)")
            }
        }
        let tensorboard = record.results.compactMap { r in r.tensorboardSecondsPerStep.map { String(format: "%.1f us at batch %ld", $0 * 1e6, r.batchPerRank) } }
        if !tensorboard.isEmpty {
            lines.append("TensorBoard events (rank 0, written at flush points, --no-tensorboard: none): " + tensorboard.joined(separator: ", ") + " per step")
        }
        return lines.joined(separator: "\n")
    }
}
