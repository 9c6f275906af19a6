// A whole run: load and check data, agree on the configuration and the model, train epoch by
// epoch with evaluation, and leave the run folder complete. Only rank 0 prints and writes.
import Collective
import Data
import Foundation
import NN
import Tensor

/// Where rank 0's output goes: lines always, progress only on a terminal.
public struct Console: Sendable {
    public var line: @Sendable (String) -> Void
    public var progress: (@Sendable (String) -> Void)?

    public init(line: @escaping @Sendable (String) -> Void, progress: (@Sendable (String) -> Void)? = nil) {
        self.line = line
        self.progress = progress
    }
}

extension Trainer {
    public static func loadData(_ source: String, seed: UInt64) throws -> DataSplit {
        switch source {
        case "synthetic": return SyntheticData.make(seed: seed)
        case "synthetic-binary": return SyntheticData.randomBinary(seed: seed)
        case let s where s.hasPrefix("synthetic-binary:"):
            // synthetic-binary:NxF, e.g. 100x10 (seed article 001); the test set is a fifth as large.
            let size = s.dropFirst("synthetic-binary:".count).split(separator: "x").compactMap { Int($0) }
            guard size.count == 2, size[0] >= 1, size[1] >= 1 else {
                throw ConfigError("--data \(s): expected synthetic-binary:SAMPLESxFEATURES, e.g. synthetic-binary:100x10")
            }
            // In Double: size[1] + 1 as an Int traps at Int.max.
            try MemoryBudget.check(1.2 * Double(size[0]) * (Double(size[1]) + 1), for: "--data \(s) (\(size[0]) x \(size[1]) bytes and a fifth as many to test)")
            return SyntheticData.randomBinary(seed: seed, trainCount: size[0], testCount: max(size[0] / 5, 1), features: size[1])
        default: return try DataFolder.load(source)
        }
    }

    /// The model `settings.model` names, over the data's input shape.
    public static func buildModel(_ settings: TrainConfig, data: DataSplit) throws -> Model {
        let specs = try ModelSpec.parse(settings.model, hidden: settings.hidden, classes: data.train.classes)
        try MemoryBudget.check(specs: specs, channels: data.train.channels, height: data.train.height, width: data.train.width)
        let model = try ModelSpec.build(specs, channels: data.train.channels, height: data.train.height, width: data.train.width, classes: data.train.classes)
        if let ghost = settings.ghostBatch, model.layout.momentCount == 0 {
            throw ConfigError("--ghost-batch \(ghost) has no effect: model \(settings.model) has no BatchNorm (bn) layer")
        }
        if let p = settings.sharpnessSubspace {
            guard p < model.layout.count else {
                throw ConfigError("--sharpness-subspace \(p) must be smaller than the model's \(model.layout.count) parameters")
            }
            // Made after training: found short of memory then, the run would end without its figures.
            try MemoryBudget.check(RandomSubspace.bytes(rows: model.layout.count, columns: p),
                                   for: "--sharpness-subspace \(p) (its \(model.layout.count) x \(p) matrix and \(p) x \(p) Gram matrix)")
        }
        return model
    }

    /// What a built model must pass under its run's configuration (a sweep checks every point first).
    static func check(_ model: Model, _ config: ResolvedConfig) throws {
        try MemoryBudget.check(model: model, config: config)
        try refuseOneSampleFeatureNormalization(model, ghostBatch: config.ghostBatch)
    }

    /// BatchNorm over features (after fc or gap: one value a channel a sample) normalizes each over
    /// its ghost group of samples; groups of one make every output the layer's shift alone, and the
    /// run trains at chance without a word (PyTorch refuses it too). On planes the pixels are the group.
    static func refuseOneSampleFeatureNormalization(_ model: Model, ghostBatch: Int) throws {
        guard ghostBatch == 1 else { return }
        func firstOnFeatures(_ layer: Layer) -> BatchNorm? {
            if let bn = layer as? BatchNorm, bn.inputShape.dropFirst().reduce(1, *) == 1 { return bn }
            return layer.sublayers.lazy.compactMap { firstOnFeatures($0.layer) }.first
        }
        guard let bn = firstOnFeatures(model.root) else { return }
        throw ConfigError("BatchNorm over \(bn.channels) features would normalize each over 1 sample (ghost batches of 1: "
                          + "--batch-per-rank 1, or --ghost-batch 1), which leaves its shift alone and trains nothing; use 2 or more")
    }

    /// Runs training as configured. Collective: every rank calls it. Throws `TrainingFailure`.
    /// `data`: already loaded and checked by every rank (a sweep loads it once). `resume`: continue
    /// from this checkpoint in its run folder (`settings` must be the checkpoint's). `studyFile`: the
    /// flags of a new run as a TOML study file, written as config.toml.
    public static func run(_ settings: TrainConfig, comm: Communicator, console: Console,
                           data preloaded: DataSplit? = nil, resume: Checkpoint? = nil, studyFile: String? = nil) throws -> RunSummary {
        let wallStart = monotonicSeconds()
        let say: (String) -> Void = { if comm.rank == 0 { console.line($0) } }
        let data: DataSplit
        if let preloaded { data = preloaded } else { data = try agreed(comm) { try loadData(settings.data, seed: settings.dataSeed ?? settings.seed) } }
        let config = try agreed(comm) { () -> ResolvedConfig in
            if let resume, let sync = settings.sync, resume.state.ranks != comm.size {
                throw ConfigError("run \(settings.runDir ?? ".") trains with local SGD (--sync \(sync)) on \(resume.state.ranks) rank(s), a replica "
                                  + "each, so it continues only on \(resume.state.ranks) (mpirun -np \(resume.state.ranks)); on \(comm.size) it would be another run")
            }
            return try ResolvedConfig(settings, ranks: comm.size, data: data, runGlobalBatch: try resume.map { try runGlobalBatch($0, data: data) },
                                      runGhostBatch: resume?.state.ghostBatch)
        }
        let model = try agreed(comm) { () -> Model in
            let model = try buildModel(settings, data: data)
            try check(model, config)
            return model
        }
        let trainer = Trainer(config: config, data: data, model: model, comm: comm)
        // A checkpoint this build cannot load (another layout) is refused before its folder is
        // touched: the rows after it and the event files stay as the cut launch left them.
        if let resume {
            try agreed(comm) { try trainer.restore(resume, source: Checkpoint.location(settings.runDir ?? ".")) }
        }
        // Last of the checks, so a refused run leaves no folder behind.
        let folder = try agreed(comm) { () -> RunFolder? in
            guard comm.rank == 0 else { return nil }
            guard let resume else { return try RunFolder.create(settings.runDir) }
            let folder = try RunFolder.open(settings.runDir ?? ".")
            if RunFolder.finishedSummary(folder.path) != nil {
                throw ConfigError("run \(folder.path) already finished (it has summary.json); nothing to resume")
            }
            // Rows written after the checkpoint are written again by the resumed run.
            try folder.truncateRows("steps.csv", afterStep: resume.state.step, column: 0)
            try folder.truncateRows("metrics.csv", afterStep: resume.state.step, column: 1)
            return folder
        }
        let board = try agreed(comm) {
            try settings.tensorboard ? folder.map { try TensorBoardWriter(folder: $0, firstStep: (resume?.state.step ?? 0) + 1) } : nil
        }
        let hosts = comm.allgather(comm.hostName)
        var clock = RunClock(resuming: resume?.state, start: wallStart)
        let launch = clock.launch
        try agreed(comm) {
            // A launch killed before its first checkpoint left a row its number is now reused for.
            try folder?.truncateRows(LaunchRow.file, afterStep: launch - 1, column: 0)
            try folder?.append(LaunchRow.file, header: LaunchRow.header, lines: [
                LaunchRow(launch: launch, fromStep: resume?.state.step ?? 0, config: config, hosts: hosts).csv])
        }
        if let resume {
            let ranks = resume.state.ranks == comm.size ? "" : " on \(comm.size) rank(s) (it ran on \(resume.state.ranks))"
            // A run stopped after its last step (during the sharpness measurement) has no epoch left to train.
            let position = resume.state.step >= config.totalSteps
                ? "after its last step, step \(resume.state.step) (nothing left to train)"
                : "at epoch \(resume.state.epoch + 1), step \(resume.state.step)"
            say("resuming \(folder?.path ?? "") \(position)\(ranks)")
        } else {
            try trainer.synchronizeInitialWeights()
            try agreed(comm) {
                try folder?.writeJSON("config.json", ConfigRecord(config: config, hosts: hosts, blasCore: BLASInfo.coreName, overlap: trainer.overlapMode, build: .current))
                if let studyFile { try folder?.write("config.toml", Data(studyFile.utf8)) }
            }
        }
        say(trainer.describe(hosts: hosts, runDir: folder?.path ?? ""))
        if let sync = settings.sync {
            say("  local SGD: " + (sync.afterEpochs > 0 ? "synchronous for \(sync.afterEpochs) epoch(s), then " : "")
                + "each rank steps on its own micro-batches and the ranks average parameters, BatchNorm state and optimizer "
                + "buffers every \(sync.period) step(s) and at each evaluation and checkpoint. The noise scale is measured in "
                + "synchronous steps only (local steps form no global gradient); timing's allreduce holds the averagings.")
        }

        var progress = resume?.state.progress ?? RunProgress(settings: settings)
        var step = resume?.state.step ?? 0
        var stopSignal: Int32?
        var trainedSamples = resume?.state.trainedSamples ?? 0
        let startEpoch = resume?.state.epoch ?? 0
        // The epoch's timing, also into TensorBoard (a diverged run's cut epoch as timing.csv has it).
        func closeEpoch(_ step: Int) throws {
            trainer.timer.endEpoch()
            if settings.tensorboard { try TensorBoardWriter.writeEpoch(board, trainer: trainer, step: step, comm: comm) }
        }
        // A checkpoint taken at the epoch end where the plateau rule stopped the run has nothing left to train.
        epochs: for epoch in startEpoch..<config.epochs where step < config.totalSteps && progress.plateauEpoch == nil {
            trainer.sampler.startEpoch(epoch)
            let stepsThisEpoch = min(config.stepsPerEpoch, config.totalSteps - epoch * config.stepsPerEpoch)
            let evaluationPoints = config.evaluationPoints(stepsThisEpoch: stepsThisEpoch)
            var records: [Trainer.StepResult] = []
            records.reserveCapacity(stepsThisEpoch)
            var segmentSamples = 0
            var segmentStart = monotonicSeconds()
            var lastProgress = segmentStart
            // Folds the segment so far into the totals and writes its steps (before an evaluation or a checkpoint).
            func flush() throws {
                clock.launchTrainSeconds += monotonicSeconds() - segmentStart
                trainedSamples += segmentSamples
                try agreed(comm) {
                    try folder?.append("steps.csv", header: StepRow.header, lines: records.enumerated().map { i, r in
                        StepRow(step: step - records.count + i + 1, epoch: epoch + 1, result: r).csv
                    })
                    try board?.writeSteps(records, lastStep: step, seconds: monotonicSeconds() - segmentStart)
                }
                records.removeAll(keepingCapacity: true)
            }
            for s in (epoch == startEpoch ? resume?.state.stepInEpoch ?? 0 : 0)..<stepsThisEpoch {
                let result = AllocationProbe.measure(step: step + 1) { trainer.trainStep(step, stepInEpoch: s) }
                records.append(result)
                segmentSamples += result.samples
                step += 1
                progress.observe(result, step: step)
                if comm.rank == 0, let show = console.progress, monotonicSeconds() - lastProgress > 0.25 {
                    lastProgress = monotonicSeconds()
                    show(progressLine(epoch: epoch, of: config.epochs, step: s + 1, of: stepsThisEpoch,
                                      samples: segmentSamples, seconds: lastProgress - segmentStart))
                }
                defer { FaultInjection.check(step: step, rank: comm.rank) }
                let evaluationDue = progress.divergedStep != nil || evaluationPoints.contains(s + 1)
                let scheduledCheckpoint = s + 1 == stepsThisEpoch || (settings.checkpointEvery > 0 && step % settings.checkpointEvery == 0)
                // A stop agreed in this step's allreduce: checkpoint this step, then leave (at the last
                // step the run simply ends). Under local SGD it waits for an averaging the run makes
                // anyway (at most H - 1 steps; every step's allreduce carries the flag again): one
                // forced by the stop alone would change the run, which would not end where it would have.
                let stopping = trainer.stopAgreed && progress.divergedStep == nil && step < config.totalSteps
                    && (evaluationDue || scheduledCheckpoint || !trainer.averagingDue(forced: true) || trainer.averagingDue(forced: false))
                let checkpointDue = stopping || scheduledCheckpoint
                if trainer.averagingDue(forced: evaluationDue || checkpointDue) { try trainer.averageReplicas() }
                guard evaluationDue || checkpointDue else { continue }
                let seconds = monotonicSeconds() - segmentStart
                let samples = segmentSamples
                try flush()
                if let diverged = progress.divergedStep {
                    if let rank = progress.nonFiniteRank {
                        say("non-finite loss or gradient at step \(diverged) on rank \(rank); the update was not applied; stopping this run")
                    } else {
                        say("diverged at step \(diverged): loss \(progress.lastLoss) (first step \(progress.firstLoss ?? 0)); stopping this run")
                    }
                    try closeEpoch(step)
                    break epochs
                }
                let next = s + 1 == stepsThisEpoch ? (epoch + 1, 0) : (epoch, s + 1)
                if evaluationDue {
                    // A stop at an evaluation point still evaluates (the resumed run starts after this
                    // step, so its row would be lost), but saves this step first: a kill during the
                    // evaluation (mpirun's SIGKILL a second after its SIGTERM) then loses only the row.
                    if stopping {
                        try trainer.saveCheckpoint(to: folder, epoch: next.0, stepInEpoch: next.1, step: step,
                                                   clock: clock, trainedSamples: trainedSamples, progress: progress)
                    }
                    let evaluation = trainer.evaluate()
                    // Weights whose losses are no longer finite (steps skipped under --on-nan skip
                    // cannot undo an update that made them so): the run has diverged, and this
                    // evaluation is not a result.
                    guard evaluation.trainLoss.isFinite && evaluation.testLoss.isFinite else {
                        progress.diverge(at: step, because: "the evaluation loss is not finite; \(progress.skippedSteps) step(s) were skipped as non-finite")
                        say("diverged at step \(step): \(progress.divergence ?? ""); stopping this run")
                        try closeEpoch(step)
                        break epochs
                    }
                    progress.record(evaluation, step: step)
                    if s + 1 == stepsThisEpoch { progress.recordEpochEnd(evaluation, epoch: epoch + 1) }
                    let row = MetricsRow(epoch: Double(step) / Double(config.stepsPerEpoch), step: step, lr: result.learningRate,
                                         evaluation: evaluation, noiseScale: result.noiseScale,
                                         samplesPerSec: Double(samples) / seconds, seconds: clock.wallSeconds,
                                         skippedSteps: progress.skippedSteps, launch: clock.launch, launchSeconds: clock.launchWallSeconds)
                    try agreed(comm) {
                        try folder?.append("metrics.csv", header: MetricsRow.header, lines: [row.csv])
                        try board?.writeEvaluation(row)
                    }
                    say(row.line(epochs: config.epochs))
                }
                if checkpointDue {
                    try trainer.saveCheckpoint(to: folder, epoch: next.0, stepInEpoch: next.1, step: step,
                                               clock: clock, trainedSamples: trainedSamples, progress: progress)
                }
                if stopping {
                    stopSignal = StopSignal.agreed(comm)
                    trainer.timer.endEpoch()
                    break epochs
                }
                segmentSamples = 0
                segmentStart = monotonicSeconds()
            }
            try closeEpoch(step)
            _ = try trainer.agreeOnReplicas()  // drift is caught within an epoch of happening
            if let stopped = progress.plateauEpoch {
                say("plateau: the training loss has not improved by a relative \(PlateauRule.threshold) for "
                    + "\(settings.plateauPatience ?? 0) epoch(s); stopping after epoch \(stopped) of at most \(config.epochs)")
                break epochs
            }
        }

        if config.totalSteps == 0 { progress.record(trainer.evaluate(), step: 0) }  // --steps 0: the initial model's figures

        var sharpness: Double?, sharpnessRandom: Double?
        if let epsilon = settings.sharpness, progress.divergedStep == nil, stopSignal == nil {
            // Not measured (nil) with the box too large: say so, and write null rather than a number
            // that was not measured. Ended by a stop (the ranks' agreed flag: the signal may have
            // reached another rank): the run is interrupted after its last step, whose checkpoint
            // holds everything but this figure, so a resume measures it and ends the run.
            let measurements = [nil] + (settings.sharpnessSubspace.map { [$0] } ?? [])
            for subspace in measurements {
                let value = trainer.sharpness(epsilon: epsilon, samples: settings.sharpnessSamples, steps: settings.sharpnessSteps, subspace: subspace)
                if trainer.stopAgreed {
                    stopSignal = StopSignal.agreed(comm)
                    say("sharpness not measured: stopped by a signal during its ascent; a resume measures it")
                    break
                }
                let shown = value.map { String(format: "%.4g", $0) }
                    ?? "not measured (a loss in the box was not finite: eps \(epsilon) is too large for these weights)"
                if let p = subspace {
                    sharpnessRandom = value
                    say(String(format: "sharpness in a random %ld-dimensional subspace (Keskar et al. 2017, Table 4; %@): %@",
                               p, trainer.subspaceDescription(p), shown))
                } else {
                    sharpness = value
                    say(String(format: "sharpness (Keskar et al. 2017, eps %g, %ld ascent steps on %ld train samples): %@",
                               epsilon, settings.sharpnessSteps, min(settings.sharpnessSamples, data.train.count), shown))
                }
            }
        }

        let checksums = try trainer.agreeOnReplicas()
        var timing = TimingReport.gather(trainer.timer, allreduceSeconds: trainer.allreduceSeconds, comm: comm)
        timing.firstEpoch = startEpoch
        let trace = trainer.timer.trace?.gatherJSON(comm: comm, hosts: hosts)
        // nil when nothing was evaluated: summary.json then says null, not 0.
        let evaluation = progress.bestTestAcc == nil ? nil : progress.last
        var summary = RunSummary(
            runDir: folder?.path ?? "", data: data.name, ranks: comm.size, hosts: hosts, globalBatch: config.globalBatch,
            batchPerRank: config.batchPerRank, accumulate: config.accumulate, epochs: progress.plateauEpoch ?? config.epochs, steps: step,
            rule: settings.ruleName, optimizer: settings.optimizer.rawValue, seed: settings.seed,
            peakLr: config.schedule.peakRate, warmupEpochs: settings.warmupEpochs,
            trainAcc: finite(evaluation?.trainAcc), testAcc: finite(evaluation?.testAcc), gap: finite(evaluation?.gap),
            trainLoss: finite(evaluation?.trainLoss), testLoss: finite(evaluation?.testLoss), lossGap: finite(evaluation?.lossGap),
            bestTestAcc: progress.bestTestAcc, target: settings.target, stepsToTarget: progress.stepsToTarget,
            diverged: progress.divergedStep != nil, divergedStep: progress.divergedStep,
            nonFiniteRank: progress.nonFiniteRank, skippedSteps: progress.skippedSteps,
            gns: finite(trainer.noiseScale.value), sharpness: finite(sharpness),
            samplesPerSec: clock.trainSeconds > 0 ? Double(trainedSamples) / clock.trainSeconds : nil,
            trainSeconds: clock.trainSeconds, wallSeconds: clock.wallSeconds,
            paramChecksum: checksums[0], rankChecksums: checksums, blasCore: BLASInfo.coreName,
            plateauEpoch: progress.plateauEpoch, sync: settings.sync?.description,
            localAveragings: settings.sync == nil ? nil : trainer.localAveraging,
            sharpnessMatrix: sharpness == nil ? nil : "identity", sharpnessRandom: finite(sharpnessRandom),
            sharpnessRandomMatrix: sharpnessRandom == nil ? nil : settings.sharpnessSubspace.map(trainer.subspaceDescription))
        summary.recordTime(clock)
        summary.divergence = progress.divergence
        summary.ghostBatch = trainer.recordedGhostBatch
        summary.communicationSeconds = trainer.background == nil ? nil : trainer.communicationSeconds
        summary.interrupted = stopSignal != nil
        if let stopSignal {
            // The checkpoint of this step is written; the rest (timing, trace, weights) belongs to the run's end.
            (summary.interruptedAtStep, summary.stopSignal) = (step, StopSignal.name(stopSignal))
            try agreed(comm) { try folder?.writeJSON("summary.json", summary) }
            return summary
        }
        try agreed(comm) {
            guard let folder else { return }
            try folder.append("timing.csv", header: TimingReport.csvHeader, lines: timing.csv)
            try folder.append("imbalance.csv", header: TimingReport.imbalanceHeader, lines: timing.imbalanceCSV)
            if let trace { try folder.write("trace.json", trace) }
            try folder.write("model.safetensors", Safetensors.encode(
                layout: trainer.layout, parameters: UnsafeBufferPointer(trainer.parameters.buffer),
                state: UnsafeBufferPointer(trainer.state.buffer),
                metadata: ["param_checksum": checksums[0], "model": trainer.modelDescription]))
            try folder.writeJSON("summary.json", summary)
        }
        AllocationProbe.report(comm: comm, say: say)
        say("\nper-rank time (seconds over this launch)\n" + timing.table)
        if let busy = summary.communicationSeconds, busy > 0 {
            let exposed = timing.totals(.allreduce)[0]
            say(String(format: "rank 0's communication thread: %.3f s in allreduces, %.3f s of it exposed after backward (%.0f%% hidden; %@)",
                       busy, exposed, 100 * max(0, 1 - exposed / busy), trainer.overlapMode))
        }
        say(clock.line)
        say("param_checksum \(checksums[0]) (identical on all \(comm.size) ranks)  run folder \(folder?.path ?? "")")
        return summary
    }

    /// Every rank's parameter checksum, after checking they are all equal (replica drift would mean
    /// a bug or a hardware fault: fail loudly rather than train on). Collective.
    func agreeOnReplicas() throws -> [String] {
        let checksums = comm.allgather(parameterChecksum).map(Checksum.hex)
        try agreed(comm) {
            if let bad = checksums.firstIndex(where: { $0 != checksums[0] }) {
                throw ConfigError("replicas diverged: rank \(bad) parameter checksum \(checksums[bad]) != rank 0's \(checksums[0])")
            }
        }
        return checksums
    }

    func describe(hosts: [String], runDir: String) -> String {
        let s = config.settings
        let distinctHosts = Array(Set(hosts)).sorted()
        return """
        swift-ddp train: \(comm.size) rank(s) on \(distinctHosts.joined(separator: ", ")), OpenBLAS \(BLASInfo.coreName)
          data        \(data.name): \(config.trainSamples) train, \(config.testSamples) test, \(config.inputShape) x \(config.classes) classes\(dataFilesLine)\(augmentLine)
          model       \(modelDescription) on \(config.inputShape), \(layout.count) parameters
          batch       global \(config.globalBatch) = \(comm.size) ranks x \(config.batchPerRank) per rank x \(config.accumulate) accumulation
          schedule    lr \(s.learningRate) at batch \(s.referenceBatch), \(s.lrScaling.rawValue) scaling -> peak \(String(format: "%.5g", config.schedule.peakRate)), warmup \(config.schedule.warmupSteps) steps, \(s.decay.rawValue) decay
          optimizer   \(optimizerDescription), seed \(s.seed)
          training    \(config.epochs) epoch(s), \(config.totalSteps) steps (\(config.stepsPerEpoch) per epoch)\(budgetNote)\(noiseScaleNote)
          run folder  \(runDir)
        """
    }

    /// The noise scale compares two batch sizes within a step: one rank without accumulation has one.
    var noiseScaleNote: String {
        guard config.settings.noiseScale, !measuresNoiseScale else { return "" }
        return "\n  noise scale not measured: 1 rank without accumulation has one batch size a step (run on 2+ ranks or with --accumulate 2+)"
    }

    /// How the budget was set when it is not plain epochs or steps.
    var budgetNote: String {
        let s = config.settings
        if let patience = s.plateauPatience {
            return " at most: stops when the training loss has not improved by a relative \(PlateauRule.threshold) for \(patience) epoch(s)"
        }
        if let regime = s.regimeEpochs, s.maxSteps == nil {
            return ", regime adaptation: as many steps as \(regime) epoch(s) at batch \(s.referenceBatch)"
        }
        return ""
    }

    /// The files read (and those present but not read), or nothing for generated data.
    var dataFilesLine: String {
        guard !config.dataFiles.isEmpty else { return "" }
        let names = config.dataFiles.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
        let skipped = config.dataFilesNotRead.isEmpty ? ""
            : " (present, not read: \(config.dataFilesNotRead.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")))"
        return "\n  data files  \(names)\(skipped)"
    }

    var augmentLine: String {
        config.settings.augment.map { "\n  augment     \($0) (training batches only; padding is pixel value 0)" } ?? ""
    }

    var modelDescription: String {
        (try? ModelSpec.describe(ModelSpec.parse(config.settings.model, hidden: config.settings.hidden, classes: config.classes)))
            ?? config.settings.model
    }

    var optimizerDescription: String {
        let (kind, o) = (config.settings.optimizer, config.settings.optim)
        switch kind {
        case .sgd: return "sgd momentum \(o.momentum)\(o.nesterov ? " nesterov" : ""), weight decay \(o.weightDecay)"
        case .adam, .adamw: return "\(kind.rawValue) betas (\(o.beta1), \(o.beta2)), eps \(o.epsilon), weight decay \(o.weightDecay)"
        case .lars: return "lars momentum \(o.momentum), trust coefficient \(o.trustCoefficient), weight decay \(o.weightDecay)"
        case .lamb: return "lamb betas (\(o.beta1), \(o.beta2)), eps \(o.epsilon), weight decay \(o.weightDecay) (trust ratio on "
            + (o.decayAll ? "every tensor)" : "weights)")
        }
    }

    static func progressLine(epoch: Int, of epochs: Int, step: Int, of steps: Int, samples: Int, seconds: Double) -> String {
        let width = 30
        let done = width * step / max(steps, 1)
        let rate = Double(samples) / max(seconds, 1e-9)
        let eta = seconds / Double(step) * Double(steps - step)
        let bar = String(repeating: "=", count: done) + String(repeating: " ", count: width - done)
        return "\repoch \(epoch + 1)/\(epochs) [\(bar)] \(step)/\(steps)  "
            + String(format: "%.0f samples/s  ETA %.0f s ", rate, eta)
    }
}

/// config.json: the settings, what they resolved to, and where the run ran.
struct ConfigRecord: Encodable {
    let config: ResolvedConfig
    let hosts: [String]
    let blasCore: String
    /// The convolutions' kernels (DirectKernels.inUse): the direct kernels and im2col + sgemm
    /// agree to rounding, not bit for bit, as OpenBLAS's kernel sets do.
    let convKernels = DirectKernels.inUse
    /// What ran, which --overlap alone does not say (see Trainer.overlapMode).
    let overlap: String
    let build: BuildInfo
}

/// launches.csv: one row per launch, for a run stopped and resumed on another split or other hosts
/// (config.json describes the first launch, summary.json the last).
struct LaunchRow {
    static let file = "launches.csv"
    static let header = "launch,from_step,ranks,batch_per_rank,accumulate,hosts,started_utc"
    let launch: Int, fromStep: Int
    let config: ResolvedConfig
    let hosts: [String]

    var csv: String {
        // Each host once, in rank order, with its rank count: "n1*2 n2*2".
        var order: [String] = [], counts: [String: Int] = [:]
        for host in hosts {
            if counts[host] == nil { order.append(host) }
            counts[host, default: 0] += 1
        }
        let hostList = order.map { "\($0)*\(counts[$0]!)" }.joined(separator: " ")
        let started = ISO8601DateFormatter().string(from: Date())
        return "\(launch),\(fromStep),\(config.ranks),\(config.batchPerRank),\(config.accumulate),\(hostList),\(started)"
    }
}

struct MetricsRow {
    /// `seconds`: wall seconds of the run over all its launches; `launch_seconds`: of this launch (number `launch`).
    static let header = "epoch,step,lr,train_loss,train_acc,test_loss,test_acc,gap,loss_gap,gns,samples_per_sec,seconds,skipped_steps,"
        + "launch,launch_seconds"
    /// Fractional when there are several evaluations per epoch.
    let epoch: Double, step: Int, lr: Float
    let evaluation: Evaluation
    let noiseScale: Double?
    let samplesPerSec: Double, seconds: Double
    let skippedSteps: Int
    let launch: Int, launchSeconds: Double

    var csv: String {
        let e = evaluation
        return "\(epochLabel(epoch)),\(step),\(lr),\(fmt(e.trainLoss, 6)),\(fmt(e.trainAcc, 6)),\(fmt(e.testLoss, 6)),\(fmt(e.testAcc, 6)),"
            + "\(fmt(e.gap, 6)),\(fmt(e.lossGap, 6)),\(noiseScale.map { fmt($0, 2) } ?? ""),\(fmt(samplesPerSec, 1)),\(fmt(seconds, 3)),\(skippedSteps),"
            + "\(launch),\(fmt(launchSeconds, 3))"
    }

    /// The console line for this evaluation.
    func line(epochs: Int) -> String {
        let e = evaluation
        let gns = noiseScale.map { String(format: "  gns %.0f", $0) } ?? ""
        return String(format: "epoch %@/%ld  step %ld  lr %.5f  train loss %.4f acc %.4f  test loss %.4f acc %.4f  gap %+.4f%@  %.0f samples/s  %.1f s",
                      epochLabel(epoch), epochs, step, lr, e.trainLoss, e.trainAcc, e.testLoss, e.testAcc, e.gap, gns, samplesPerSec, seconds)
    }
}

/// One optimizer step in steps.csv.
struct StepRow {
    static let header = "step,epoch,lr,loss,accuracy,samples,gns"
    let step: Int, epoch: Int
    let result: Trainer.StepResult

    var csv: String {
        let r = result
        // A step skipped for a non-finite loss (--on-nan skip) has no loss or accuracy to record.
        let measured = r.lossMean.isFinite
        return "\(step),\(epoch),\(r.learningRate),\(measured ? "\(r.lossMean)" : ""),\(measured ? "\(r.accuracy)" : ""),\(r.samples),"
            + (r.noiseScale.map { fmt($0, 2) } ?? "")
    }
}

/// summary.json holds a number or null: a value that is not finite was not measured as a number
/// (JSON has no NaN; a string "nan" in its place would read as a result).
func finite(_ value: Double?) -> Double? {
    value.flatMap { $0.isFinite ? $0 : nil }
}

/// "3" at an epoch's end, "2.25" within one.
func epochLabel(_ epoch: Double) -> String {
    let rounded = (epoch * 1000).rounded() / 1000
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}
