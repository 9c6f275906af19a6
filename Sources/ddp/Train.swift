// `ddp train`: flags to a TrainConfig, range checks in validate(), then the collective run.
import ArgumentParser
import Collective
import Foundation
import Optim
import Tensor
import NN
import Training

extension LRScaling: ExpressibleByArgument {}
extension LRDecay: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

/// A comma-separated list of numbers, e.g. `--hidden 256,128`.
func parseList<T: LosslessStringConvertible>(_ text: String) throws -> [T] {
    try text.split(separator: ",").map {
        guard let value = T(String($0).trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("'\(text)' is not a comma-separated list of numbers")
        }
        return value
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an MLP data-parallel: each rank takes its shard of every global batch; gradients are allreduced.",
        discussion: """
        Global batch = ranks x --batch-per-rank x --accumulate (or give --global-batch and the accumulation is derived).
        The learning rate is --lr at --reference-batch, scaled by --lr-scaling to the global batch, reached by
        --warmup-epochs of linear warmup (Goyal et al. 2017), then --decay. Results go to --run-dir.
        """)

    @Option(help: "Folder with the four MNIST-format IDX files (raw or .gz), 'synthetic' (learnable, 10 classes) or 'synthetic-binary' (random 1000 x 20, 2 classes).")
    var data = "/usr/share/datasets/fashion-mnist"

    @Option(help: "mlp, cnn (conv32k3-pool2-fc10, Adam in the seed articles), or a spec: \(ModelSpec.grammar).")
    var model = "mlp"

    @Option(help: "Hidden layer widths of mlp, comma-separated (e.g. 256,128).", transform: parseList)
    var hidden: [Int] = [128]

    @Option(help: "Epochs to train.")
    var epochs = 5

    @Option(help: "Stop after this many optimizer steps (overrides --epochs).")
    var steps: Int?

    @Option(help: "Samples per rank per micro-batch (the largest batch a rank computes at once).")
    var batchPerRank = 32

    @Option(help: "Micro-batches each rank sums before the one allreduce of a step.")
    var accumulate = 1

    @Option(help: "Global batch; derives --accumulate (and a smaller --batch-per-rank if needed).")
    var globalBatch: Int?

    @Option(help: "Base learning rate, right for --reference-batch (default 0.01 for sgd, 0.001 for adam/adamw; inputs are standardised).")
    var lr: Double?

    @Option(help: "The global batch at which --lr is right.")
    var referenceBatch = 64

    @Option(help: "Scale the rate by global/reference batch: none, linear (Goyal et al. 2017) or sqrt (Hoffer et al. 2017).")
    var lrScaling = LRScaling.none

    @Option(help: "Epochs of linear warmup from --lr to the scaled rate (fractions allowed).")
    var warmupEpochs = 0.0

    @Option(help: "The rate warmup starts from (default --lr, as in Goyal et al.); e.g. lr / 5 for Keras-style warmup without scaling.")
    var warmupStartLr: Double?

    @Option(help: "After warmup: constant, step (x0.1 at --decay-epochs) or cosine.")
    var decay = LRDecay.constant

    @Option(help: "Epochs where step decay applies, comma-separated (default: 50% and 75% of training).", transform: parseList)
    var decayEpochs: [Double] = []

    @Option(help: "sgd, adam or adamw. With Adam, prefer --lr-scaling sqrt (Hoffer et al. 2017).")
    var optimizer = OptimizerKind.sgd

    @Option(help: "SGD momentum.")
    var momentum = 0.9

    @Flag(help: "Nesterov momentum.")
    var nesterov = false

    @Option(help: "Weight decay: L2 for sgd and adam, decoupled for adamw.")
    var weightDecay = 0.0

    @Option(help: "Adam's first-moment decay.")
    var beta1 = 0.9

    @Option(help: "Adam's second-moment decay.")
    var beta2 = 0.999

    @Option(help: "Adam's epsilon.")
    var eps = 1e-8

    @Option(help: "Seed for weights, shuffling and synthetic data.")
    var seed: UInt64 = 1

    @Option(help: "Samples per forward pass in evaluation.")
    var evalBatch = 1000

    @Option(help: "Run folder (default runs/<timestamp>); an existing folder with files is refused.")
    var runDir: String?

    @Flag(inversion: .prefixedNo, help: "Live progress line (default: when stdout is a terminal and CI is unset; mpirun always gives rank 0 a terminal).")
    var progress: Bool?

    @Option(help: "OpenBLAS threads per rank (1 is fastest when ranks fill the cores).")
    var blasThreads = 1

    func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw ValidationError(message) }
        }
        try require(batchPerRank >= 1, "--batch-per-rank must be at least 1 (got \(batchPerRank))")
        try require(accumulate >= 1, "--accumulate must be at least 1 (got \(accumulate))")
        try require(globalBatch.map { $0 >= 1 } ?? true, "--global-batch must be at least 1")
        try require(lr.map { $0 > 0 && $0.isFinite } ?? true, "--lr must be positive (got \(lr ?? 0))")
        try require(epochs >= 1, "--epochs must be at least 1 (got \(epochs))")
        try require(steps.map { $0 >= 1 } ?? true, "--steps must be at least 1")
        try require(referenceBatch >= 1, "--reference-batch must be at least 1")
        try require(warmupEpochs >= 0 && warmupEpochs.isFinite, "--warmup-epochs must be 0 or more (got \(warmupEpochs))")
        try require(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1) (got \(momentum))")
        try require(weightDecay >= 0, "--weight-decay must be 0 or more (got \(weightDecay))")
        try require(evalBatch >= 1, "--eval-batch must be at least 1")
        try require(!hidden.isEmpty && hidden.allSatisfy { $0 >= 1 }, "--hidden widths must be at least 1")
        try require(warmupStartLr.map { $0 > 0 } ?? true, "--warmup-start-lr must be positive")
        try require(decayEpochs.allSatisfy { $0 >= 0 }, "--decay-epochs must be 0 or more")
        try require(blasThreads >= 1, "--blas-threads must be at least 1")
        try require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "--beta1 and --beta2 must be in [0, 1)")
        try require(eps > 0, "--eps must be positive")
    }

    var settings: TrainConfig {
        var c = TrainConfig()
        c.data = data
        c.model = model
        c.hidden = hidden
        c.epochs = epochs
        c.maxSteps = steps
        c.batchPerRank = batchPerRank
        c.accumulate = accumulate
        c.globalBatch = globalBatch
        c.learningRate = lr ?? (optimizer == .sgd ? 0.01 : 0.001)
        c.referenceBatch = referenceBatch
        c.lrScaling = lrScaling
        c.warmupEpochs = warmupEpochs
        c.warmupStartRate = warmupStartLr
        c.decay = decay
        c.decayEpochs = decayEpochs
        c.optimizer = optimizer
        c.optim.momentum = momentum
        c.optim.nesterov = nesterov
        c.optim.weightDecay = weightDecay
        c.optim.beta1 = beta1
        c.optim.beta2 = beta2
        c.optim.epsilon = eps
        c.seed = seed
        c.evalBatch = evalBatch
        c.runDir = runDir
        return c
    }

    func run() throws {
        BLASInfo.setThreads(blasThreads)
        let comm: Communicator
        do {
            comm = try LaunchEnvironment.makeCommunicator()
        } catch {
            writeError("cannot start MPI: \(error)")
            throw ExitCode.failure
        }
        defer { comm.finalize() }
        do {
            let showProgress = progress ?? (isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["CI"] == nil)
            _ = try Trainer.run(settings, comm: comm, console: .standardOutput(progress: showProgress))
        } catch TrainingFailure.reported(let message) {
            writeError(message)
            throw ExitCode.failure
        } catch TrainingFailure.elsewhere {
            throw ExitCode.failure
        }
    }
}

/// One line on stderr, unbuffered (stderr is C global state that Swift 6 will not touch).
func writeError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}

extension Console {
    /// stdout, unbuffered, with a live progress line if asked.
    static func standardOutput(progress showProgress: Bool) -> Console {
        let clearLine = showProgress ? "\r\u{1B}[2K" : ""
        let line: @Sendable (String) -> Void = { text in
            FileHandle.standardOutput.write(Data((clearLine + text + "\n").utf8))
        }
        let progress: @Sendable (String) -> Void = { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        return Console(line: line, progress: showProgress ? progress : nil)
    }
}
