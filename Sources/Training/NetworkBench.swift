// `ddp netbench`: the allreduce on the transport the ranks really use (shared memory, TCP between
// hosts, a tbf-limited link), timed against message size and fitted to the ring model
// (NetworkModel); one rank's step profiled alone; the step with all ranks measured without and
// with the allreduce behind backward; and the projection to more ranks, checked against the
// measurement at this rank count. Every rank calls `run`; rank 0 gets the record.
import Collective
import Foundation
import NN
import Tensor

public struct NetBenchSettings: Sendable {
    public var base: TrainConfig
    public var batchesPerRank: [Int]
    /// Allreduce sizes, bytes.
    public var sizes: [Int]
    public var steps: Int
    public var warmup: Int
    /// Ranks to project to.
    public var projectTo: [Int]

    public init(base: TrainConfig, batchesPerRank: [Int], sizes: [Int], steps: Int, warmup: Int, projectTo: [Int]) {
        (self.base, self.batchesPerRank, self.sizes, self.steps, self.warmup, self.projectTo) = (base, batchesPerRank, sizes, steps, warmup, projectTo)
    }
}

public struct NetProjection: Codable, Sendable {
    public var ranks: Int
    public var samplesPerSec: Double
    public var weakScalingEfficiency: Double
    public var exposedSeconds: Double
    public var overlapSamplesPerSec: Double
    public var overlapWeakScalingEfficiency: Double
    public var overlapExposedSeconds: Double
    /// The slowest rank's lateness in each step (StepProfile.stragglerFactor), part of both exposed
    /// figures; and both efficiencies without it (the network alone).
    public var stragglerSeconds: Double
    public var networkEfficiency: Double
    public var overlapNetworkEfficiency: Double
}

public struct NetMeasurement: Codable, Sendable {
    public var overlap: Bool
    public var samplesPerSec: Double
    public var medianStepSeconds: Double
    /// Rank 0's median seconds waiting for the allreduce after backward (exposed).
    public var exposedSeconds: Double
    public var weakScalingEfficiency: Double
    /// The projection at this rank count from this run's own compute phases, and its error.
    public var projectedSamplesPerSec: Double
    public var projectionError: Double
}

public struct NetBatchResult: Codable, Sendable {
    public var batchPerRank: Int
    /// Rank 0 alone (LocalCommunicator): the step the projection scales.
    public var single: StepProfile
    public var singleSamplesPerSec: Double
    public var measured: [NetMeasurement]
    public var projections: [NetProjection]
}

/// Where communication stops mattering at one projected rank count: the smallest batch per rank
/// run from which on (it and every larger batch run) the network alone costs at most
/// `NetworkBench.mattersAbove` of the step, without and with overlap; nil if even the largest does not.
public struct CommunicationThreshold: Codable, Equatable, Sendable {
    public var ranks: Int
    @Nullable public var batchPerRank: Int?
    @Nullable public var overlapBatchPerRank: Int?

    public init(ranks: Int, batchPerRank: Int?, overlapBatchPerRank: Int?) {
        (self.ranks, self.batchPerRank, self.overlapBatchPerRank) = (ranks, batchPerRank, overlapBatchPerRank)
    }

    public static func == (a: Self, b: Self) -> Bool {
        (a.ranks, a.batchPerRank, a.overlapBatchPerRank) == (b.ranks, b.batchPerRank, b.overlapBatchPerRank)
    }
}

public struct NetBenchRecord: Codable, Sendable {
    public var model: String
    public var parameters: Int
    public var ranks: Int
    public var hosts: [String]
    public var cpu: String
    public var blasCore: String
    public var bucketKB: Int
    public var buckets: Int
    public var allreduce: [AllreduceSample]
    public var fit: LatencyBandwidthModel
    /// Largest relative difference of the fit from a measured allreduce.
    public var fitError: Double
    public var results: [NetBatchResult]
    public var communicationThresholds: [CommunicationThreshold]
}

public enum NetworkBench {
    public static func run(_ settings: NetBenchSettings, comm: Communicator, console: Console) throws -> NetBenchRecord {
        let say: (String) -> Void = { if comm.rank == 0 { console.line($0) } }
        let hosts = comm.allgather(comm.hostName)
        let data = try agreed(comm) { try Trainer.loadData(settings.base.data, seed: settings.base.dataSeed ?? settings.base.seed) }
        try Benchmark.checkBatches(settings.base, settings.batchesPerRank, steps: settings.warmup + settings.steps, comm: comm, data: data)
        let samples = timeAllreduce(sizes: settings.sizes, comm: comm)
        guard let fit = LatencyBandwidthModel.fit(samples) else {
            throw ConfigError("netbench needs at least two ranks and two message sizes to fit a latency and a bandwidth")
        }
        let fitError = samples.map { abs(fit.seconds(ranks: $0.ranks, bytes: $0.bytes) / $0.seconds - 1) }.max() ?? 0
        say(String(format: "allreduce over %ld rank(s) on %@: alpha %.1f us, beta %.3f ns/B (%.2f Gbit/s), fit within %.0f%%",
                   comm.size, Set(hosts).sorted().joined(separator: ","), fit.alpha * 1e6, fit.beta * 1e9, fit.bitsPerSecond / 1e9, 100 * fitError))
        var results: [NetBatchResult] = []
        var modelName = settings.base.model, parameterCount = 0, bucketCount = 0
        for batch in settings.batchesPerRank {
            var c = Benchmark.settings(settings.base, batchPerRank: batch, steps: settings.warmup + settings.steps)
            // Rank 0 alone, the others waiting: the compute a node of its own would have.
            var single: StepProfile?
            var singleRate = 0.0
            comm.barrier()
            if comm.rank == 0 {
                let alone = try ResolvedConfig(c, ranks: 1, data: data)
                let model = try Trainer.buildModel(c, data: data)
                let trainer = Trainer(config: alone, data: data, model: model, comm: LocalCommunicator())
                try trainer.synchronizeInitialWeights()
                modelName = trainer.modelDescription
                parameterCount = trainer.layout.count
                let (median, phases, compute) = timeSteps(trainer, warmup: settings.warmup, steps: settings.steps)
                singleRate = Double(batch) / median
                single = profile(trainer, model: model, phases: phases, steps: settings.steps)
                single!.setSpread(compute)
                bucketCount = single!.bucketBoundaries.count - 1
            }
            comm.barrier()
            var measured: [NetMeasurement] = []
            for overlap in [false, true] where comm.size > 1 {
                c.overlap = overlap
                let config = try agreed(comm) { try ResolvedConfig(c, ranks: comm.size, data: data) }
                let model = try agreed(comm) { try Trainer.buildModel(c, data: data) }
                let trainer = Trainer(config: config, data: data, model: model, comm: comm)
                try trainer.synchronizeInitialWeights()
                comm.barrier()
                let (median, phases, compute) = timeSteps(trainer, warmup: settings.warmup, steps: settings.steps)
                guard comm.rank == 0, var own = single else { continue }
                own.setSpread(compute)
                // The projection at this rank count, from this run's compute (several ranks on one
                // machine share its cores and memory) and the fitted allreduce.
                (own.dataSeconds, own.forwardSeconds, own.optimizerSeconds) = (phases[Phase.data.rawValue], phases[Phase.forward.rawValue], phases[Phase.optimizer.rawValue])
                own.scaleBackward(to: phases[Phase.backward.rawValue])
                let projected = Double(config.globalBatch) / own.projected(ranks: comm.size, overlap: overlap, model: fit).step
                let rate = Double(config.globalBatch) / median
                measured.append(NetMeasurement(overlap: overlap, samplesPerSec: rate, medianStepSeconds: median,
                                               exposedSeconds: phases[Phase.allreduce.rawValue],
                                               weakScalingEfficiency: rate / (Double(comm.size) * singleRate),
                                               projectedSamplesPerSec: projected, projectionError: projected / rate - 1))
            }
            if let single {
                let compute = single.computeSeconds
                let projections = ([comm.size] + settings.projectTo).map { ranks -> NetProjection in
                    let plain = single.projected(ranks: ranks, overlap: false, model: fit)
                    let hidden = single.projected(ranks: ranks, overlap: true, model: fit)
                    let rate: (Double) -> Double = { Double(ranks * batch) / $0 }
                    let late = compute * single.stragglerFactor(ranks: ranks)
                    return NetProjection(ranks: ranks, samplesPerSec: rate(plain.step), weakScalingEfficiency: compute / plain.step,
                                         exposedSeconds: plain.exposed, overlapSamplesPerSec: rate(hidden.step),
                                         overlapWeakScalingEfficiency: compute / hidden.step, overlapExposedSeconds: hidden.exposed,
                                         stragglerSeconds: late, networkEfficiency: compute / (plain.step - late),
                                         overlapNetworkEfficiency: compute / (hidden.step - late))
                }
                results.append(NetBatchResult(batchPerRank: batch, single: single, singleSamplesPerSec: singleRate,
                                              measured: measured, projections: projections))
            }
        }
        return NetBenchRecord(model: modelName, parameters: parameterCount, ranks: comm.size, hosts: hosts, cpu: Benchmark.cpuName,
                              blasCore: BLASInfo.coreName, bucketKB: settings.base.bucketFloats / 256, buckets: bucketCount,
                              allreduce: samples, fit: fit, fitError: fitError, results: results,
                              communicationThresholds: communicationThresholds(results.map { ($0.batchPerRank, $0.projections) }))
    }

    /// The share of the step above which communication is said to matter: 10%, issue 16's bound
    /// on the exposed allreduce.
    public static let mattersAbove = 0.1

    /// For each rank count projected: scanning the batches per rank from the largest down, the last
    /// one whose network-alone efficiency is still >= 1 - mattersAbove (a batch that falls short
    /// ends the scan, so a larger one never hides a failing one).
    static func communicationThresholds(_ rows: [(batchPerRank: Int, projections: [NetProjection])]) -> [CommunicationThreshold] {
        let sorted = rows.sorted { $0.batchPerRank > $1.batchPerRank }
        let ranks = sorted.first?.projections.map(\.ranks) ?? []
        func smallest(_ ranks: Int, _ efficiency: (NetProjection) -> Double) -> Int? {
            var found: Int?
            for row in sorted {
                guard let p = row.projections.first(where: { $0.ranks == ranks }), efficiency(p) >= 1 - mattersAbove else { break }
                found = row.batchPerRank
            }
            return found
        }
        return ranks.map { r in
            CommunicationThreshold(ranks: r, batchPerRank: smallest(r, \.networkEfficiency), overlapBatchPerRank: smallest(r, \.overlapNetworkEfficiency))
        }
    }

    /// Median seconds of one in-place float allreduce per size, the slowest rank's: each repetition
    /// starts from a barrier, and repetitions run until about 0.2 s or 200 of them.
    static func timeAllreduce(sizes: [Int], comm: Communicator) -> [AllreduceSample] {
        let largest = sizes.max() ?? 0
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(largest / 4, 1))
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        var medians: [Double] = []
        for bytes in sizes {
            let part = UnsafeMutableBufferPointer(rebasing: buffer[0 ..< max(bytes / 4, 1)])
            for _ in 0..<3 { comm.allreduceSum(part) }
            var times: [Double] = []
            var spent = 0.0
            while times.count < 5 || (spent < 0.2 && times.count < 200) {
                comm.barrier()
                let start = monotonicSeconds()
                comm.allreduceSum(part)
                let seconds = monotonicSeconds() - start
                times.append(seconds)
                spent += seconds
                // Every rank must agree to go on: the slowest rank's total decides.
                var total = [spent]
                total.withUnsafeMutableBufferPointer { comm.allreduceSum($0) }
                spent = total[0] / Double(comm.size)
            }
            medians.append(median(times))
        }
        let slowest = comm.allgather(medians)
        return sizes.indices.map { i in
            AllreduceSample(ranks: comm.size, bytes: max(sizes[i] / 4, 1) * 4, seconds: slowest.map { $0[i] }.max()!)
        }
    }

    /// Benchmark.time's loop, keeping each timed step's compute (data + forward + backward +
    /// optimizer) on this rank: median step seconds, each phase's median, the compute per step.
    static func timeSteps(_ trainer: Trainer, warmup: Int, steps: Int) -> (median: Double, phases: [Double], compute: [Double]) {
        var times: [Double] = [], compute: [Double] = []
        var phaseTimes = [[Double]](repeating: [], count: Phase.allCases.count)
        var epoch = 0, stepInEpoch = 0
        trainer.sampler.startEpoch(0)
        for i in 0..<(warmup + steps) {
            if stepInEpoch == trainer.config.stepsPerEpoch {
                (epoch, stepInEpoch) = (epoch + 1, 0)
                trainer.sampler.startEpoch(epoch)
            }
            let start = monotonicSeconds()
            _ = trainer.trainStep(i, stepInEpoch: stepInEpoch)
            if i >= warmup {
                times.append(monotonicSeconds() - start)
                let last = trainer.timer.lastStep
                for p in Phase.allCases.indices { phaseTimes[p].append(last[p]) }
                compute.append([Phase.data, .forward, .backward, .optimizer].reduce(0) { $0 + last[$1.rawValue] })
            }
            stepInEpoch += 1
        }
        return (median(times), phaseTimes.map(median), compute)
    }

    /// The step's phases (medians) and the backward pass split over the root's children as they
    /// run, from extra steps with the layer profiler on.
    static func profile(_ trainer: Trainer, model: Model, phases: [Double], steps: Int) -> StepProfile {
        let profiler = LayerProfiler(model: model)
        LayerProfiler.active = profiler
        _ = Benchmark.time(trainer, warmup: 0, steps: max(steps / 4, 5))
        LayerProfiler.active = nil
        var layers: [StepProfile.BackwardLayer] = []
        var offset = 0
        var spans: [(seconds: Double, start: Int)] = []
        for (i, entry) in profiler.entries.enumerated() where entry.depth == 1 {
            spans.append((profiler.backwardSeconds[i], offset))
            offset += GradientBuckets.parameters(of: entry.layer)
        }
        for span in spans.reversed() { layers.append(StepProfile.BackwardLayer(seconds: span.seconds, completesFrom: span.start)) }
        let layout = model.layout
        var profile = StepProfile(dataSeconds: phases[Phase.data.rawValue], forwardSeconds: phases[Phase.forward.rawValue],
                                  backwardSeconds: phases[Phase.backward.rawValue], optimizerSeconds: phases[Phase.optimizer.rawValue],
                                  backward: layers, gradientFloats: layout.count,
                                  tailFloats: layout.momentCount + Trainer.Tail.allCases.count,
                                  bucketBoundaries: trainer.config.settings.bucketFloats > 0
                                    ? GradientBuckets.boundaries(slices: layout.slices, count: layout.count, bucketFloats: trainer.config.settings.bucketFloats)
                                    : [layout.count, 0])
        profile.scaleBackward(to: profile.backwardSeconds)
        return profile
    }

    /// The table rank 0 prints.
    public static func table(_ record: NetBenchRecord) -> String {
        var lines = [String(format: "allreduce, %ld rank(s), median of the slowest rank:   bytes       ms   model ms", record.ranks)]
        for s in record.allreduce {
            lines.append(String(format: "%62ld %8.3f %10.3f", s.bytes, s.seconds * 1000, record.fit.seconds(ranks: s.ranks, bytes: s.bytes) * 1000))
        }
        lines.append("\(record.model): \(record.parameters) parameters (\(record.parameters * 4 / 1024) KB), buckets of >= \(record.bucketKB) KB: \(record.buckets)")
        for r in record.results {
            lines.append(String(format: "batch %ld per rank: one rank alone %.0f samples/s (step %.2f ms: data %.2f, forward %.2f, backward %.2f, optimizer %.2f)",
                                r.batchPerRank, r.singleSamplesPerSec, r.single.computeSeconds * 1000, r.single.dataSeconds * 1000,
                                r.single.forwardSeconds * 1000, r.single.backwardSeconds * 1000, r.single.optimizerSeconds * 1000))
            for m in r.measured {
                lines.append(String(format: "  measured %ld ranks, overlap %@: %.0f samples/s, step %.2f ms, exposed allreduce %.2f ms (%.0f%%), weak scaling %.0f%%; projected %.0f samples/s (%+.0f%%)",
                                    record.ranks, m.overlap ? "on " : "off", m.samplesPerSec, m.medianStepSeconds * 1000, m.exposedSeconds * 1000,
                                    100 * m.exposedSeconds / m.medianStepSeconds, 100 * m.weakScalingEfficiency, m.projectedSamplesPerSec, 100 * m.projectionError))
            }
            lines.append("  projected    ranks   samples/s  efficiency  exposed ms | overlap: samples/s  efficiency  exposed ms | straggler ms  network alone: efficiency, overlap")
            for p in r.projections {
                lines.append(String(format: "  %17ld %11.0f %10.0f%% %11.2f | %18.0f %10.0f%% %11.2f | %12.2f  %21.0f%% %8.0f%%", p.ranks, p.samplesPerSec, 100 * p.weakScalingEfficiency,
                                    p.exposedSeconds * 1000, p.overlapSamplesPerSec, 100 * p.overlapWeakScalingEfficiency, p.overlapExposedSeconds * 1000,
                                    p.stragglerSeconds * 1000, 100 * p.networkEfficiency, 100 * p.overlapNetworkEfficiency))
            }
        }
        let tried = Set(record.results.map(\.batchPerRank)).sorted().map(String.init).joined(separator: ", ")
        let batch: (Int?) -> String = { $0.map { "from \($0) per rank" } ?? "at none of \(tried) per rank" }
        lines.append(String(format: "communication <= %.0f%% of the step (network alone), by projection:", 100 * mattersAbove))
        for t in record.communicationThresholds {
            lines.append("  \(t.ranks) ranks: \(batch(t.batchPerRank)); with overlap \(batch(t.overlapBatchPerRank))")
        }
        lines.append("(ring model T = 2(p-1) alpha + 2(p-1)/p n beta per allreduce; projections: one rank's step alone plus the modelled allreduce "
                     + "and the slowest of P ranks' lateness (the median max of P draws of its step-to-step spread, in exposed ms); "
                     + "efficiency = that step / the projected one; measured rows' projections use the run's own compute phases and spread)")
        return lines.joined(separator: "\n")
    }
}

extension StepProfile {
    /// computeSpread from each step's compute seconds.
    mutating func setSpread(_ compute: [Double]) {
        let middle = median(compute)
        if middle > 0 { computeSpread = compute.map { $0 / middle }.sorted() }
    }

    /// Scales the per-layer backward seconds so they sum to `total` (profiled steps run slower).
    mutating func scaleBackward(to total: Double) {
        let sum = backward.reduce(0) { $0 + $1.seconds }
        backwardSeconds = total
        guard sum > 0 else { return }
        for i in backward.indices { backward[i].seconds *= total / sum }
    }
}
