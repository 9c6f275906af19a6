// `ddp train`: flags to a TrainConfig, range checks in validate(), then the collective run.
import ArgumentParser
import Collective
import Foundation
import Optim
import Tensor
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train data-parallel: each rank takes its shard of every global batch; gradients are allreduced.",
        discussion: """
        Global batch = ranks x --batch-per-rank x --accumulate (or give --global-batch and the accumulation is derived). \
        The learning rate is --lr at --reference-batch, scaled by --lr-scaling to the global batch, reached by \
        --warmup-epochs of linear warmup (Goyal et al. 2017), then --decay. Results go to --run-dir.
        """)

    @OptionGroup var options: TrainingOptions

    @Option(help: "Epochs to train.")
    var epochs = TrainConfig.defaults.epochs

    @Option(help: "Stop after this many optimizer steps (overrides --epochs); 0 writes the seeded initial weights (model.safetensors) and trains nothing.")
    var steps: Int?

    @Option(help: "Instead of --epochs/--steps: regime:E (as many steps as E epochs at --reference-batch, warmup and decay epochs scaled alike: Hoffer et al. 2017) or plateau:P[:MAX] (stop when the epoch-end training loss has not improved by a relative 1e-3 for P epochs, at most MAX epochs, default 100); epochs:N and steps:N also work.")
    var budget: String?

    @Option(help: "Micro-batches each rank sums before the one allreduce of a step.")
    var accumulate = TrainConfig.defaults.accumulate

    @Option(help: "Global batch; derives --accumulate (and a smaller --batch-per-rank if needed).")
    var globalBatch: Int?

    @Option(help: "Scale the rate by global/reference batch: none, linear (Goyal et al. 2017) or sqrt (Hoffer et al. 2017; recommended for Adam).")
    var lrScaling = TrainConfig.defaults.lrScaling

    @Option(help: "Epochs of linear warmup from --lr to the scaled rate (fractions allowed).")
    var warmupEpochs = TrainConfig.defaults.warmupEpochs

    @Option(help: "The rate warmup starts from (default --lr, as in Goyal et al.); e.g. lr / 5 for Keras-style warmup without scaling.")
    var warmupStartLr: Double?

    @Option(help: "Seed for weights, shuffling and synthetic data.")
    var seed = TrainConfig.defaults.seed

    @Option(help: "Run folder (default runs/<timestamp>); an existing folder with files is refused.")
    var runDir: String?

    @Option(help: "Continue a run from its checkpoint (a run folder or a checkpoint.ddp): every setting comes from the checkpoint and the run folder is the checkpoint's; other training flags are ignored. Any rank count that divides the run's global batch continues it exactly.")
    var resume: String?

    @Flag(help: "With --run-dir: continue the run there if it holds a checkpoint, start it there if the folder is missing or empty, do nothing if it finished (for requeued batch jobs); the flags must be the run's own.")
    var autoResume = false

    func validate() throws {
        try requirePath(runDir, "--run-dir")
        try requirePath(resume, "--resume")
        try require(accumulate >= 1, "--accumulate must be at least 1 (got \(accumulate))")
        try require(globalBatch.map { $0 >= 1 } ?? true, "--global-batch must be at least 1")
        try require(epochs >= 1, "--epochs must be at least 1 (got \(epochs))")
        try require(steps.map { $0 >= 0 } ?? true, "--steps must be 0 or more")
        try require(warmupEpochs >= 0 && warmupEpochs.isFinite, "--warmup-epochs must be 0 or more (got \(warmupEpochs))")
        try require(warmupStartLr.map { $0 > 0 && $0.isFinite } ?? true, "--warmup-start-lr must be positive (got \(warmupStartLr ?? 0))")
        try require(!autoResume || (runDir != nil && resume == nil), "--auto-resume needs --run-dir (and not --resume)")
        try require(options.ghostBatch.count <= 1, "train takes one --ghost-batch value (a list is a sweep axis: ddp sweep)")
        if let budget {
            do { _ = try Budget(budget) } catch { throw ValidationError(String(describing: error)) }
        }
        if let problem = OptimizerKind.ignoredSetting(options.settings.optim, kinds: [options.optimizer]) { throw ValidationError(problem) }
    }

    /// Every setting: SettingsTable's rows for the shared flags and train's own, and the run folder.
    var settings: TrainConfig {
        var c = SettingsTable.settings(options, train: self)
        c.runDir = runDir
        return c
    }

    func run() throws {
        try runCollective(blasThreads: options.blasThreads, collectiveTimeout: options.watchdogTimeout) { comm in
            StopSignal.install()
            var settings = self.settings
            var checkpoint: Checkpoint?
            var resume = self.resume
            let console = Console.standardOutput(progress: options.showProgress)
            if autoResume, let runDir {
                switch try AutoResume.decide(runDir, marker: Checkpoint.fileName, isRun: true, comm: comm) {
                case .start: break
                case .resume: resume = runDir
                case .finished:
                    if comm.rank == 0 { console.line("run \(runDir) already finished (it has summary.json): nothing to do") }
                    return
                }
            }
            if let resume {
                checkpoint = try Trainer.loadCheckpoint(resume, comm: comm)
                if autoResume {
                    try Trainer.refuseOtherSettings(settings, checkpoint!, comm: comm)
                }
                if self.resume != nil { try refuseContradictions(of: checkpoint!, folder: resume, comm: comm) }
                settings = checkpoint!.state.settings
                settings.runDir = Train.runFolder(resuming: resume)
            }
            let study = SettingsTable.toml(settings, header: StudyFile.header("train"))
            let summary = try Trainer.run(settings, comm: comm, console: console, resume: checkpoint, studyFile: study)
            if summary.interrupted == true {
                if comm.rank == 0 {
                    let counts = ResolvedConfig.continuationRankCounts(globalBatch: summary.globalBatch, ghostBatch: summary.ghostBatch,
                                                                       localSGD: settings.sync != nil, ranks: comm.size)
                    console.line(stoppedLine(summary, command: "train", ranks: comm.size, counts: counts))
                }
                throw ExitCode(StopSignal.exitCode(name: summary.stopSignal ?? ""))
            }
            // Every rank knows (the loss is allreduced); rank 0 says it.
            if summary.diverged {
                if comm.rank == 0, let rank = summary.nonFiniteRank {
                    writeError("non-finite loss or gradient at step \(summary.divergedStep ?? summary.steps) on rank \(rank); the update "
                               + "was not applied and the last checkpoint in \(summary.runDir) holds finite weights (--on-nan skip skips such steps)")
                } else if comm.rank == 0 {
                    writeError("training diverged at step \(summary.divergedStep ?? summary.steps) (\(summary.divergence ?? "loss diverged")); "
                               + "results so far are in \(summary.runDir)")
                }
                throw ExitCode.failure
            }
        }
    }
}

extension Train {
    /// The run folder a `--resume` path (a folder or its checkpoint file) continues.
    static func runFolder(resuming path: String) -> String {
        let folder = (Checkpoint.location(path) as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// `--resume` continues the run as its checkpoint says: a flag on this command line that would
    /// change a setting is refused, naming it, rather than silently ignored (the same flags again and
    /// launch-only flags pass). Collective: rank 0 says it.
    func refuseContradictions(of checkpoint: Checkpoint, folder: String, comm: Communicator) throws {
        let given = ResumeFlags.given(try StudyFile.expand(Array(CommandLine.arguments.dropFirst(2))).arguments)
        let recorded = checkpoint.state.settings
        let now = try ResumeFlags.fields([settings, settings.optim]), then = try ResumeFlags.fields([recorded, recorded.optim])
        let runFolder = Train.runFolder(resuming: folder)
        let runGlobal = recorded.globalBatch ?? recorded.batchPerRank * recorded.accumulate * checkpoint.state.ranks
        let conflicts = ResumeFlags.contradictions(given: given, now: now, then: then) { flag in
            switch flag {
            case "run-dir":
                return runDir.map { URL(fileURLWithPath: $0).standardizedFileURL != URL(fileURLWithPath: runFolder).standardizedFileURL }
            case "global-batch":  // the run's global batch, however it was given
                return globalBatch != runGlobal
            case "accumulate", "batch-per-rank":
                // The run's value again passes, and so does this launch's split of the run's global
                // batch (ResolvedConfig.split, as the resume makes it): on 1 rank of a 2-rank run, --accumulate 2.
                guard let split = try? ResolvedConfig.split(globalBatch: runGlobal, ranks: comm.size, maxMicroBatch: recorded.batchPerRank,
                                                            ghostBatch: checkpoint.state.ghostBatch) else { return nil }
                return flag == "accumulate" ? ![recorded.accumulate, split.accumulate].contains(settings.accumulate)
                    : ![recorded.batchPerRank, split.batchPerRank].contains(settings.batchPerRank)
            case "budget":  // what a budget sets
                return ["maxSteps", "epochs", "regimeEpochs", "plateauPatience"].contains { now[$0] != then[$0] }
            default:
                return nil
            }
        }
        // Every rank has the same command line and checkpoint, so all find the same; rank 0 says it.
        guard conflicts.isEmpty else {
            guard comm.rank == 0 else { throw TrainingFailure.elsewhere(rank: 0) }
            throw TrainingFailure.reported("--resume continues the run in \(runFolder) with the settings of its checkpoint; "
                                           + "\(conflicts.joined(separator: ", ")) would change them: leave them out, or start a new run (another --run-dir, without --resume)")
        }
    }
}

/// The one line after a stop: what happened, and the command that continues (on any of `counts`,
/// the rank counts that `--resume` accepts; `--auto-resume` with the original command does the same).
func stoppedLine(_ summary: RunSummary, command: String, ranks: Int, counts: [Int], folder: String? = nil) -> String {
    let program = CommandLine.arguments.first ?? "ddp"
    let launcher = ranks > 1 ? "mpirun -np \(ranks) " : ""
    return "stopped by \(signalSent(summary.stopSignal)) after step \(summary.interruptedAtStep ?? summary.steps): "
        + "checkpoint written in \(summary.runDir); to continue: \(launcher)\(program) \(command) --resume \(folder ?? summary.runDir)"
        + " (-np may be any of \(ResolvedConfig.listing(counts)))"
}

/// The signal as the user sent it. launch/local.sh and hosts.sh pass a SIGTERM or SIGINT on to the
/// ranks as SIGUSR1 (launch/mpirun-signals.sh says why) and write the one they got to the file that
/// DDP_SIGNAL_NOTE names, which rank 0 reads when it runs on the script's host.
func signalSent(_ received: String?) -> String {
    guard received == "SIGUSR1", let path = ProcessInfo.processInfo.environment["DDP_SIGNAL_NOTE"],
          let note = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
          note == "SIGTERM" || note == "SIGINT" else { return received ?? "a signal" }
    return "\(note) (passed on to the ranks as SIGUSR1)"
}

/// Starts MPI, runs `body` on every rank, and turns agreed failures into one message and exit 1.
func runCollective(blasThreads: Int, collectiveTimeout: Double?, _ body: (Communicator) throws -> Void) throws {
    BLASInfo.setThreads(blasThreads)
    if LaunchEnvironment.rank() == 0 { _ = BuildInfo.current }  // runs git: before MPI starts, on the rank that writes config.json
    let comm: Communicator
    do {
        comm = try LaunchEnvironment.makeCommunicator(collectiveTimeout: collectiveTimeout)
    } catch {
        writeError("cannot start MPI: \(error)")
        throw ExitCode.failure
    }
    defer { comm.finalize() }
    do {
        try body(comm)
    } catch TrainingFailure.reported(let message) {
        writeError(message)
        throw ExitCode.failure
    } catch TrainingFailure.elsewhere {
        throw ExitCode.failure
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
