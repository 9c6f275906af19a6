// Flags that `train` and `sweep` share: data, model, optimizer, evaluation, measurements.
// What a sweep varies (batch, rule, seed, budget) is in each command's own flags.
import ArgumentParser
import Data
import Collective
import Foundation
import NN
import Optim
import Training

extension LRScaling: ExpressibleByArgument {}
extension LRDecay: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension NaNPolicy: ExpressibleByArgument {}

/// A comma-separated list of numbers, e.g. `--hidden 256,128`; "" is the empty list (a study
/// file's `decay-epochs = []`). An empty item ("256,,128", "256,") is a typo, not a shorter list.
func parseList<T: LosslessStringConvertible>(_ text: String) throws -> [T] {
    guard !text.isEmpty else { return [] }
    return try text.split(separator: ",", omittingEmptySubsequences: false).map {
        guard let value = T(String($0).trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("'\(text)' is not a comma-separated list of numbers")
        }
        return value
    }
}

struct TrainingOptions: ParsableArguments {
    @Option(help: "Folder with the four MNIST-format IDX files (raw or .gz) or CIFAR-10's binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin), 'synthetic' (learnable, 10 classes) or 'synthetic-binary[:NxF]' (random 1000 x 20, 2 classes).")
    var data = TrainConfig.defaults.data

    @Option(help: "The seed synthetic data is made from (default: --seed; in a sweep, its first seed, the same data for every point).")
    var dataSeed: UInt64?

    @Option(help: "Augment training batches: \(Augmentation.grammar). Padding is pixel value 0 (black), as torchvision's RandomCrop; evaluation is never augmented.",
            transform: Augmentation.parse)
    var augment: Augmentation?

    @Option(help: "mlp, cnn (conv32k3-pool2-fc10, Adam in the seed articles), or a spec: \(ModelSpec.grammar).")
    var model = TrainConfig.defaults.model

    @Option(help: "Hidden layer widths of mlp, comma-separated (default \(TrainConfig.defaults.hidden.map(String.init).joined(separator: ",")); e.g. 256,128).", transform: parseList)
    var hidden: [Int]?

    @Option(help: "Samples per rank per micro-batch (the largest batch a rank computes at once).")
    var batchPerRank = TrainConfig.defaults.batchPerRank

    @Option(help: "BatchNorm statistics in training over consecutive groups of this many samples of the global batch (ghost batches, Hoffer et al. 2017); must divide the micro-batch per rank (default: the micro-batch per rank). train takes one value; sweep takes a comma-separated list as an axis.", transform: parseList)
    var ghostBatch: [Int] = []

    @Option(help: "Base learning rate, right for --reference-batch (default per optimizer: \(OptimizerKind.defaultRatesText); inputs are standardised).")
    var lr: Double?

    @Option(help: "The global batch at which --lr is right.")
    var referenceBatch = TrainConfig.defaults.referenceBatch

    @Option(help: "After warmup: constant, step (x0.1 at --decay-epochs) or cosine.")
    var decay = TrainConfig.defaults.decay

    @Option(help: "Epochs where step decay applies, comma-separated (default: 50% and 75% of training).", transform: parseList)
    var decayEpochs = TrainConfig.defaults.decayEpochs

    @Option(help: "\(OptimizerKind.listText). With Adam, prefer --lr-scaling sqrt (Hoffer et al. 2017).")
    var optimizer = TrainConfig.defaults.optimizer

    @Option(help: "sync (gradients allreduced every step) or local:H[:AFTER] ((post-)local SGD, Lin et al. 2020): after AFTER synchronous epochs (default 0) each rank steps on its own micro-batch and the ranks average parameters, BatchNorm state and optimizer buffers every H steps (and at each evaluation and checkpoint).")
    var sync = TrainConfig.defaults.sync?.description ?? "sync"

    @Option(help: "Momentum of \(OptimizerKind.names(where: \.usesMomentum)).")
    var momentum = TrainConfig.defaults.optim.momentum

    @Flag(help: "Nesterov momentum.")
    var nesterov = TrainConfig.defaults.optim.nesterov

    @Option(help: "Weight decay: \(OptimizerKind.weightDecayText).")
    var weightDecay = TrainConfig.defaults.optim.weightDecay

    @Flag(help: "Apply weight decay and the trust ratios of \(OptimizerKind.names(where: \.usesTrustRatio)) to every tensor (default: weights only, not biases or BatchNorm scale and shift).")
    var decayAll = TrainConfig.defaults.optim.decayAll

    @Option(help: "First-moment decay of \(OptimizerKind.names(where: \.usesAdamMoments)).")
    var beta1 = TrainConfig.defaults.optim.beta1

    @Option(help: "Second-moment decay of \(OptimizerKind.names(where: \.usesAdamMoments)).")
    var beta2 = TrainConfig.defaults.optim.beta2

    @Option(help: "Epsilon of \(OptimizerKind.names(where: \.usesAdamMoments)).")
    var eps = TrainConfig.defaults.optim.epsilon

    @Option(help: "LARS trust coefficient eta (You et al. 2017): each tensor's rate is lr x eta x |w| / |grad|.")
    var trustCoefficient = TrainConfig.defaults.optim.trustCoefficient

    @Option(help: "Samples per forward pass in evaluation.")
    var evalBatch = TrainConfig.defaults.evalBatch

    @Option(help: "Evaluations of train and test accuracy per epoch (more give finer steps-to-target).")
    var evalsPerEpoch = TrainConfig.defaults.evalsPerEpoch

    @Option(help: "Test accuracy whose first crossing is reported as steps-to-target (Shallue et al. 2018).")
    var target: Double?

    @Flag(inversion: .prefixedNo, help: "Measure the gradient noise scale B_simple every step (McCandlish et al. 2018).")
    var noiseScale = TrainConfig.defaults.noiseScale

    @Option(help: "After training, measure sharpness (Keskar et al. 2017) in a box of this relative size, e.g. 1e-3.")
    var sharpness: Double?

    @Option(help: "With --sharpness: also measure it in a random subspace of this many dimensions (Keskar et al. 2017, Table 4 uses 100): a seeded n x p matrix A with entries +-1/sqrt(n), f taken at x + A z.")
    var sharpnessSubspace: Int?

    @Option(help: "Training samples the sharpness loss is taken over.")
    var sharpnessSamples = TrainConfig.defaults.sharpnessSamples

    @Option(help: "Projected gradient-ascent steps of the sharpness measurement.")
    var sharpnessSteps = TrainConfig.defaults.sharpnessSteps

    @Option(help: "A run has diverged when its step loss is not finite or this many times its first step's loss.")
    var divergenceFactor = TrainConfig.defaults.divergenceFactor

    @Option(help: "Abort the job, naming the phase and the ranks that never arrived, when a collective waits longer than this many seconds (a stalled rank); 0 turns the watchdog off.")
    var collectiveTimeout = 600.0

    @Option(help: "Optimizer steps A:B (1-based, inclusive) whose per-rank phases go to trace.json (Chrome trace format: Perfetto, chrome://tracing); 'none' writes no trace.")
    var traceSteps = TrainConfig.defaults.traceSteps.map(SettingsTable.traceText) ?? "none"

    @Option(help: "A NaN or infinite loss or gradient: stop (naming the step and rank) or skip that step's update (counted in metrics.csv).")
    var onNan = TrainConfig.defaults.onNaN

    @Option(help: "Also write checkpoint.ddp every N optimizer steps (it is always written at each epoch's end).")
    var checkpointEvery = TrainConfig.defaults.checkpointEvery

    @Flag(inversion: .prefixedNo, help: "Run each step's allreduce on a worker thread while the next batch is assembled (needs a spare hardware thread per rank to win; see BENCHMARKS.md).")
    var overlap = TrainConfig.defaults.overlap

    @Option(help: "With --overlap: allreduce the gradients in buckets of at least this many KB as backward finishes them, last layers first (0: one allreduce after backward; default \(TrainConfig.defaultBucketKB)).")
    var bucketKb: Int?

    @Flag(inversion: .prefixedNo, help: "TensorBoard event files in RUN/tb/ (tensorboard --logdir RUN, or a sweep's folder to overlay its runs).")
    var tensorboard = TrainConfig.defaults.tensorboard

    @Flag(inversion: .prefixedNo, help: "Live progress line (default: when the output goes to a terminal, under mpirun when mpirun's does, and CI is unset; otherwise one line per evaluation).")
    var progress: Bool?

    @Option(help: "A TOML study file whose keys are these flags without '--' (lr = 0.1, hidden = [256, 128], nesterov = true); flags on the command line override it.")
    var config: String?

    @Option(help: "OpenBLAS threads per rank (1 is fastest when ranks fill the cores).")
    var blasThreads = 1

    func validate() throws {
        try requirePath(data, "--data")
        try require(batchPerRank >= 1, "--batch-per-rank must be at least 1 (got \(batchPerRank))")
        try require(ghostBatch.allSatisfy { $0 >= 1 }, "--ghost-batch must be at least 1 (got \(ghostBatch.map(String.init).joined(separator: ",")))")
        do { _ = try LocalSync.parse(sync) } catch { throw ValidationError(String(describing: error)) }
        try require(lr.map { $0 > 0 && $0.isFinite } ?? true, "--lr must be positive (got \(lr ?? 0))")
        try require(referenceBatch >= 1, "--reference-batch must be at least 1")
        try require(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1) (got \(momentum))")
        try require(weightDecay >= 0 && weightDecay.isFinite, "--weight-decay must be 0 or more (got \(weightDecay))")
        try require(evalBatch >= 1, "--eval-batch must be at least 1")
        try require(bucketKb.map { $0 >= 0 && $0 <= 1 << 20 } ?? true, "--bucket-kb must be 0 (no buckets) to \(1 << 20) (got \(bucketKb ?? 0))")
        try require(evalsPerEpoch >= 1, "--evals-per-epoch must be at least 1")
        try require(target.map { $0 > 0 && $0 <= 1 } ?? true, "--target is a test accuracy in (0, 1]")
        // Below Float's epsilon the box rounds away in the Float weights: the figure would read 0, never measured.
        try require(sharpness.map { $0 >= Double(Float.ulpOfOne) && $0 <= 1 } ?? true,
                    "--sharpness is a box size relative to each weight, in [\(Float.ulpOfOne), 1] (Keskar et al. use 1e-3 and 5e-4; "
                    + "below \(Float.ulpOfOne) it rounds away in single precision)")
        try require(sharpnessSubspace.map { $0 >= 1 } ?? true, "--sharpness-subspace must be at least 1 (Keskar et al. use 100)")
        try require(sharpnessSubspace == nil || sharpness != nil, "--sharpness-subspace needs --sharpness (the box size, e.g. 1e-3)")
        try require(sharpnessSamples >= 1 && sharpnessSteps >= 1, "--sharpness-samples and --sharpness-steps must be at least 1")
        // Flags that would be ignored, as --sharpness-subspace above (a default given again passes).
        try require(sharpness != nil || (sharpnessSamples, sharpnessSteps) == (TrainConfig.defaults.sharpnessSamples, TrainConfig.defaults.sharpnessSteps),
                    "--sharpness-samples and --sharpness-steps need --sharpness (the box size, e.g. 1e-3)")
        try require(bucketKb == nil || overlap, "--bucket-kb sets the buckets of --overlap (without it the gradients are summed in one allreduce after backward)")
        try require(collectiveTimeout >= 0 && collectiveTimeout.isFinite, "--collective-timeout must be 0 (off) or a positive number of seconds")
        try require(traceWindow != nil || traceSteps == "none", "--trace-steps takes A:B with 1 <= A <= B (e.g. 100:120), or none")
        try require(checkpointEvery >= 0, "--checkpoint-every must be 0 (epoch ends only) or more")
        try require(divergenceFactor > 1, "--divergence-factor must be more than 1")
        try require(hidden.map { !$0.isEmpty && $0.allSatisfy { $0 >= 1 } } ?? true, "--hidden widths must be at least 1")
        try require(hidden == nil || model == "mlp", "--hidden sets the widths of --model mlp only (this run uses --model \(model))")
        try require(decayEpochs.allSatisfy { $0 >= 0 }, "--decay-epochs must be 0 or more")
        try require(blasThreads >= 1, "--blas-threads must be at least 1")
        try require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "--beta1 and --beta2 must be in [0, 1)")
        try require(eps > 0 && eps.isFinite, "--eps must be positive (got \(eps))")
        try require(trustCoefficient > 0 && trustCoefficient.isFinite, "--trust-coefficient must be positive (got \(trustCoefficient))")
    }

    /// The shared part of a TrainConfig (SettingsTable's rows for these flags); the command fills in the rest.
    var settings: TrainConfig { SettingsTable.settings(self) }

    /// --trace-steps as a range, nil for none or a malformed value.
    var traceWindow: ClosedRange<Int>? {
        let parts = traceSteps.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 1, parts[0] <= parts[1] else { return nil }
        return parts[0]...parts[1]
    }

    /// The watchdog's timeout, nil when turned off.
    var watchdogTimeout: Double? { collectiveTimeout > 0 ? collectiveTimeout : nil }

    var showProgress: Bool {
        progress ?? (LaunchEnvironment.outputIsWatched() && ProcessInfo.processInfo.environment["CI"] == nil)
    }
}

func require(_ condition: Bool, _ message: String) throws {
    if !condition { throw ValidationError(message) }
}

/// A path given as "" (`--run-dir "$DIR"` with DIR unset) would be named as nothing in every later message.
func requirePath(_ path: String?, _ flag: String) throws {
    try require(path.map { !$0.isEmpty } ?? true, "\(flag) is an empty path")
}
