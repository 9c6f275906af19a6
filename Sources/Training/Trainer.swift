// The data-parallel training loop. Per optimizer step, on every rank:
//   for each of K micro-batches: assemble this rank's shard, forward, loss sum, backward
//     (parameter gradients ADD into the flat reduction buffer);
//   one allreduce of [gradient sums | sample count, loss sum, correct count, noise-scale terms];
//   optimizer step with the gradient scaled by 1 / global count, at the schedule's rate.
// The gradient noise scale costs two dot products per step: |first micro-batch gradient|^2
// before the allreduce and |step gradient|^2 after it (see GradientNoiseScale).
// Nothing is allocated inside a step: every buffer is made in init.
import Collective
import Data
import Foundation
import NN
import Optim
import Tensor

public final class Trainer {
    /// Tail slots after the gradients in the reduction buffer.
    enum Tail: Int, CaseIterable {
        case samples, loss, correct
        /// Sums over ranks of b_r |g_r|^2 and b_r for the first micro-batch (b_r samples, mean gradient
        /// g_r), and how many ranks had one. Counts, not 1/b_r: integers stay exact in Float, so a step
        /// with one batch size (one contributor holding the whole step) is seen exactly and skipped.
        case smallSquaredNorm, smallSamples, smallContributors
        /// Ranks whose loss or first micro-batch gradient was NaN or infinite this step.
        case nonFinite
        /// BatchNorm ghost groups (of --ghost-batch samples) over all micro-batches and ranks.
        case ghostGroups
        /// Ranks that have received a stop signal (StopSignal): any > 0 stops all after this step.
        case stop
    }

    let comm: Communicator
    public let config: ResolvedConfig
    let data: DataSplit
    let model: Model
    let parameters: FloatBuffer
    /// State that is not trained (BatchNorm running statistics), identical on every rank.
    let state: FloatBuffer
    /// [BatchNorm moments (M) | Tail | gradient sums (P)]: allreduced in one call, or in buckets from
    /// its end with the head (moments and tail) riding with the first gradients, the last to be final.
    let reduction: FloatBuffer
    /// Where Tail begins in `reduction`.
    let tailOffset: Int
    /// The gradient sums: reduction.pointer + tailOffset + Tail.allCases.count.
    let gradients: UnsafeMutablePointer<Float>
    let optimizer: Optimizer
    var sampler: ShardedSampler
    let labels: UnsafeMutablePointer<Int32>
    /// Dataset indices of the micro-batch in `model.input` (dropout keys its masks by them).
    let sampleIndices: UnsafeMutablePointer<Int32>
    var timer = PhaseTimer()
    var noiseScale: GradientNoiseScale
    /// Two different batch sizes exist only with several ranks or accumulation.
    let measuresNoiseScale: Bool
    /// With --overlap: the allreduce runs on a worker thread while the next step's first
    /// micro-batch is assembled, which then waits in `model.input` (`prefetched` says for what).
    let background: BackgroundAllreduce?
    /// With --overlap and --bucket-kb > 0: the gradients leave in buckets as backward finishes them.
    let buckets: GradientBuckets?
    /// Each parameter tensor's range in the gradients, for |g|^2 tensor by tensor (GradientBuckets).
    let gradientTensors: [Range<Int>]
    /// Seconds the communication thread spent in allreduces, hidden or exposed (with --overlap).
    var communicationSeconds = 0.0
    var prefetched: (epoch: Int, step: Int, count: Int)?
    /// This rank's own part of Tail.nonFinite in the current step.
    var localNonFinite = false
    /// Set by a step's (or a sharpness probe's) allreduce that carried a stop signal from any rank
    /// (the same on every rank).
    var stopAgreed = false
    /// Seconds this rank spent in each step's allreduce (exposed time with --overlap), for the
    /// step-by-step imbalance. Made once, one slot per step of the run.
    var allreduceSeconds: [Double]
    /// Local SGD: local steps since the ranks last averaged, and the averagings so far.
    var stepsSinceAveraging = 0
    var localAveraging = LocalAveragingCounts()

    public init(config: ResolvedConfig, data: DataSplit, model: Model, comm: Communicator) {
        self.comm = comm
        self.config = config
        self.data = data
        self.model = model
        let settings = config.settings
        // Evaluation runs forward only, in chunks of --eval-batch, but no chunk's activations may
        // exceed 32 MB: the seed CNN at 1000 samples would hold 110 MB of them (the peak-memory target).
        let evaluationLimit = max(1, (32 << 20) / (4 * model.activationsPerSample))
        let capacity = max(config.batchPerRank, min(settings.evalBatch, evaluationLimit))
        model.reserve(batch: capacity, trainingBatch: config.batchPerRank)
        labels = .allocate(capacity: capacity)
        sampleIndices = .allocate(capacity: capacity)
        let layout = model.layout
        parameters = FloatBuffer(count: layout.count)
        state = FloatBuffer(count: layout.stateCount)
        tailOffset = layout.momentCount
        reduction = FloatBuffer(count: tailOffset + Tail.allCases.count + layout.count)
        gradients = reduction.pointer + tailOffset + Tail.allCases.count
        model.bind(parameters: parameters.pointer, gradients: gradients, state: state.pointer, moments: reduction.pointer)
        optimizer = settings.optimizer.make(segments: layout.slices.map {
            ParameterSegment(range: $0.offset ..< $0.offset + $0.count, isWeight: $0.role == .weight)
        }, settings.optim)
        measuresNoiseScale = settings.noiseScale && (comm.size > 1 || config.accumulate > 1)
        allreduceSeconds = [Double](repeating: 0, count: config.totalSteps)
        if let window = settings.traceSteps {  // sized by the steps that exist, not by the window asked for
            timer.trace = StepTrace(window: window.clamped(to: window.lowerBound...max(window.lowerBound, config.totalSteps)), accumulate: config.accumulate)
        }
        noiseScale = GradientNoiseScale(populationSize: data.train.count)
        gradientTensors = GradientBuckets.tensors(layout)
        let bucketFloats = settings.bucketFloats
        let bucketCuts = bucketFloats > 0 ? GradientBuckets.boundaries(slices: layout.slices, count: layout.count, bucketFloats: bucketFloats) : [0, 0]
        let background = settings.overlap && comm.size > 1 && comm.allowsCollectivesOffMainThread
            ? BackgroundAllreduce(comm: comm, capacity: bucketCuts.count) : nil  // the buckets and the tail
        self.background = background
        if let background, bucketFloats > 0 {
            buckets = GradientBuckets(model: model, gradients: gradients, head: tailOffset + Tail.allCases.count,
                                      bucketFloats: bucketFloats, background: background)
        } else {
            buckets = nil
        }
        sampler = ShardedSampler(sampleCount: data.train.count, seed: settings.seed, rank: comm.rank,
                                 ranks: comm.size, batchPerRank: config.batchPerRank, accumulation: config.accumulate)
    }

    deinit {
        background?.stop()
        labels.deallocate()
        sampleIndices.deallocate()
    }

    public var layout: ParameterLayout { model.layout }

    /// The allreduce path that runs: "thread" (--overlap on the worker thread), "off", or "off:" and
    /// why --overlap fell back to the plain path (one rank; MPI granted less than MPI_THREAD_SERIALIZED).
    public var overlapMode: String {
        if let buckets { return "buckets: \(buckets.bucketCount) of >= \(config.settings.bucketFloats / 256) KB" }
        if background != nil { return "thread" }
        guard config.settings.overlap else { return "off" }
        return comm.size == 1 ? "off: one rank" : "off: MPI granted less than MPI_THREAD_SERIALIZED"
    }

    /// Ranks agree on the layout, then take rank 0's seeded initial weights.
    func synchronizeInitialWeights() throws {
        let hashes = comm.allgather(model.layout.hash)
        try agreed(comm) {
            if let bad = hashes.firstIndex(where: { $0 != hashes[0] }) {
                throw ConfigError("rank \(bad) built a different parameter layout than rank 0 "
                                  + "(\(Checksum.hex(hashes[bad])) vs \(Checksum.hex(hashes[0])))")
            }
        }
        if comm.rank == 0 { model.initialize(seed: config.settings.seed) }
        comm.broadcast(parameters.buffer, root: 0)
        if state.count > 0 { comm.broadcast(state.buffer, root: 0) }
    }

    struct StepResult {
        var samples: Int
        var lossMean: Float
        var accuracy: Float
        var learningRate: Float
        /// B_simple after this step, once defined.
        var noiseScale: Double?
        /// The lowest rank whose loss or gradient was not finite; the update was not applied.
        var nonFiniteRank: Int?
    }

    /// One optimizer step (0-based global index `step`, `stepInEpoch` within the epoch's permutation).
    func trainStep(_ step: Int, stepInEpoch: Int) -> StepResult {
        reduction.zero()
        localNonFinite = false
        comm.setContext("a training step", step: step + 1)
        timer.trace?.step = step + 1
        let tail = reduction.pointer + tailOffset
        let classes = data.train.classes
        var context = PassContext(mode: .training, seed: config.settings.seed, epoch: sampler.epoch,
                                  sampleIndices: sampleIndices, ghostBatch: config.ghostBatch)
        // Buckets fill in the last micro-batch's backward; before it, gradients are still accumulating.
        let bucketed = isLocalPhase ? nil : buckets
        let normFromBuckets = measuresNoiseScale && config.accumulate == 1
        bucketed?.startStep(measuresNorm: normFromBuckets)
        for micro in 0..<config.accumulate {
            var t = monotonicSeconds()
            let n: Int
            if micro == 0, let p = prefetched, p.epoch == sampler.epoch, p.step == stepInEpoch {
                n = p.count
            } else {
                n = assemble(stepInEpoch: stepInEpoch, micro: micro)
            }
            prefetched = nil
            if micro == 0 && n > 0 && FaultInjection.due(.nan, step: step + 1, rank: comm.rank) {
                model.input[0] = .nan
            }
            var now = monotonicSeconds()
            timer.record(.data, from: t, to: now)
            guard n > 0 else { continue }
            t = now
            let logits = model.forward(batch: n, context: context)
            let sums = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels, batch: n, classes: classes,
                                                    gradient: model.outputGradient)
            now = monotonicSeconds()
            timer.record(.forward, from: t, to: now)
            t = now
            let observed = micro == config.accumulate - 1 ? bucketed : nil
            context.backwardObserver = observed
            model.backward(batch: n, context: context)
            observed?.flushGradients()
            tail[Tail.ghostGroups.rawValue] += Float((n + config.ghostBatch - 1) / config.ghostBatch)
            if micro == 0 && measuresNoiseScale {
                // Before later micro-batches add in: the buffer holds this micro-batch's sum alone.
                // b |g_b|^2 = |sum|^2 / b: the b-weighted mean over ranks is unbiased for unequal b_r.
                // With buckets in flight the buffer is the communication thread's: their norms were taken as they left.
                var squares = 0.0
                if let observed, normFromBuckets {
                    squares = observed.squaredNorm
                } else {
                    GradientBuckets.addSquaredNorm(gradients, tensors: gradientTensors, in: 0 ..< model.layout.count, to: &squares)
                }
                let norm = squares / Double(n)
                tail[Tail.smallSquaredNorm.rawValue] = Float(norm)
                tail[Tail.smallSamples.rawValue] = Float(n)
                tail[Tail.smallContributors.rawValue] = 1
            }
            timer.record(.backward, from: t, to: monotonicSeconds())
            if !sums.loss.isFinite || !tail[Tail.smallSquaredNorm.rawValue].isFinite {
                tail[Tail.nonFinite.rawValue] = 1
                localNonFinite = true
            }
            tail[Tail.samples.rawValue] += Float(n)
            tail[Tail.loss.rawValue] += Float(sums.loss)
            tail[Tail.correct.rawValue] += Float(sums.correct)
        }
        tail[Tail.stop.rawValue] = StopSignal.received > 0 ? 1 : 0
        var t = monotonicSeconds()
        // Local SGD: the gradient and the BatchNorm moments stay this rank's own; only the tail
        // (counts, loss, faults) is summed, so progress, divergence and NaN handling agree on all ranks.
        let localStep = isLocalPhase
        let localSamples = tail[Tail.samples.rawValue], localGroups = tail[Tail.ghostGroups.rawValue]
        if localStep {
            comm.allreduceSum(UnsafeMutableBufferPointer(start: tail, count: Tail.allCases.count))
        } else if let background {
            if let bucketed {
                bucketed.flushGradients()  // a rank whose last micro-batch was empty posts them all now
                bucketed.postLast()
            } else {
                background.begin(reduction.buffer)
            }
            if stepInEpoch + 1 < config.stepsPerEpoch {
                let count = assemble(stepInEpoch: stepInEpoch + 1, micro: 0)
                prefetched = (sampler.epoch, stepInEpoch + 1, count)
                let assembled = monotonicSeconds()
                timer.record(.data, from: t, to: assembled)
                t = assembled
            }
            communicationSeconds += background.finish()  // allreduce time is what remains exposed after the prefetch
        } else {
            comm.allreduceSum(reduction.buffer)
        }
        var now = monotonicSeconds()
        timer.record(.allreduce, from: t, to: now)
        if step < allreduceSeconds.count { allreduceSeconds[step] = now - t }
        stopAgreed = tail[Tail.stop.rawValue] > 0
        t = now
        let samples = tail[Tail.samples.rawValue]
        if tail[Tail.nonFinite.rawValue] != 0 {
            // Every rank sees the same count, so all take this path; one more collective finds who.
            // The update is not applied: the weights (and the last checkpoint) stay finite.
            let local = localNonFinite
            let rank = comm.firstFailingRank(local) ?? 0
            timer.endStep()
            return StepResult(samples: Int(samples), lossMean: .nan, accuracy: .nan, learningRate: config.schedule.rate(at: step),
                              noiseScale: noiseScale.value, nonFiniteRank: rank)
        }
        let contributors = Double(tail[Tail.smallContributors.rawValue])
        let smallSamples = Double(tail[Tail.smallSamples.rawValue])
        // E[sum_r b_r |g_r|^2] / sum_r b_r = |G|^2 + tr(Sigma) k / sum_r b_r: the small batch's 1/b is
        // k / sum b_r, exact from integer counts, so one batch size (k = 1, b = B) gives exactly 1/B,
        // which update skips (a Float 1/96 once passed as larger and divided rounding error by 3e-10).
        if contributors > 0 && !localStep {
            let big = sumOfSquares(gradients, count: model.layout.count) / (Double(samples) * Double(samples))
            noiseScale.update(smallSquaredNorm: Double(tail[Tail.smallSquaredNorm.rawValue]) / smallSamples,
                              smallInverseBatch: contributors / smallSamples,
                              bigSquaredNorm: big, bigBatch: Double(samples))
        }
        let rate = config.schedule.rate(at: step)
        if localStep {
            // The rank's own mean gradient; a rank without samples this step (a short last batch) waits.
            stepsSinceAveraging += 1
            if localSamples > 0 {
                model.updateState(samples: Int(localSamples), groups: Int(localGroups))
                optimizer.step(parameters: parameters.pointer, gradients: gradients,
                               gradientScale: 1 / localSamples, learningRate: rate)
            }
        } else {
            model.updateState(samples: Int(samples), groups: Int(tail[Tail.ghostGroups.rawValue]))
            optimizer.step(parameters: parameters.pointer, gradients: gradients,
                           gradientScale: 1 / samples, learningRate: rate)
        }
        now = monotonicSeconds()
        timer.record(.optimizer, from: t, to: now)
        timer.endStep()
        return StepResult(samples: Int(samples), lossMean: tail[Tail.loss.rawValue] / samples,
                          accuracy: tail[Tail.correct.rawValue] / samples, learningRate: rate,
                          noiseScale: noiseScale.value)
    }

    /// This rank's samples of (step, micro-batch) into the model's input and their indices into
    /// `sampleIndices`; returns how many.
    private func assemble(stepInEpoch: Int, micro: Int) -> Int {
        sampler.withIndices(step: stepInEpoch, micro: micro) { indices in
            if let base = indices.baseAddress { sampleIndices.update(from: base, count: indices.count) }
            data.train.assemble(indices: indices, normalizer: data.normalizer, augmentation: config.settings.augment,
                                seed: config.settings.seed, epoch: sampler.epoch, into: model.input, labels: labels)
            return indices.count
        }
    }

    /// Loss and accuracy over the whole training and test sets in evaluation mode, sharded over
    /// ranks (rank r takes the r-th contiguous block) with the sums allreduced in one call.
    func evaluate() -> Evaluation {
        prefetched = nil  // evaluation overwrites the model's input
        comm.setContext("evaluation", step: -1)
        let start = monotonicSeconds()
        var sums = [Double](repeating: 0, count: 6)
        for (k, set) in [data.train, data.test].enumerated() {
            let lo = comm.rank * set.count / comm.size
            let hi = (comm.rank + 1) * set.count / comm.size
            var begin = lo
            while begin < hi {
                let end = min(begin + model.capacity, hi)
                set.assemble(range: begin..<end, normalizer: data.normalizer, into: model.input, labels: labels)
                let logits = model.forward(batch: end - begin, context: .evaluation)
                let s = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels, batch: end - begin,
                                                     classes: set.classes, gradient: nil)
                sums[3 * k] += s.loss
                sums[3 * k + 1] += Double(s.correct)
                sums[3 * k + 2] += Double(end - begin)
                begin = end
            }
        }
        sums.withUnsafeMutableBufferPointer { comm.allreduceSum($0) }
        timer.recordOutsideStep(.evaluation, from: start, to: monotonicSeconds())
        return Evaluation(trainLoss: sums[0] / sums[2], trainAcc: sums[1] / sums[2],
                          testLoss: sums[3] / sums[5], testAcc: sums[4] / sums[5])
    }

    /// FNV-1a of the parameter bytes, then the state's, on this rank (the parameters' alone when
    /// there is no state, as before state existed).
    var parameterChecksum: UInt64 {
        Checksum.fnv1a(UnsafeRawBufferPointer(state.buffer), continuing: Checksum.fnv1a(UnsafeRawBufferPointer(parameters.buffer)))
    }
}
