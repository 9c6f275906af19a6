// `ddp sweep`: a grid of global batch x scaling rule x seed in one mpirun launch (see Sweep).
import ArgumentParser
import Collective
import Foundation
import Optim
import Training

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train every global batch x rule x seed in one launch; one run folder each plus results.csv.",
        discussion: """
        Rules: none, linear, sqrt (how --lr at --reference-batch scales to each batch), each optionally +warmup \
        (--warmup-epochs of Goyal et al. 2017 warmup); \(SweepCommand.rulePrefixText). Rule parts +gbN, +regime and \
        +localH add Hoffer et al.'s and Lin et al.'s remedies; a list of --ghost-batch sizes is a further axis. Batches \
        larger than ranks x --batch-per-rank are reached by accumulation. Then: ddp report DIR.
        """)

    /// "a lars+ prefix trains with LARS, ... from --lars-lr; bare lars is lars+linear+warmup; ..." from OptimizerKind.
    static var rulePrefixText: String {
        OptimizerKind.ruleOptimizers.map { kind in
            let bare = kind.bareRule!
            return "a \(kind.rawValue)+ prefix trains with \(kind.rawValue) (\(kind.summary)) from --\(kind.rawValue)-lr, "
                + "bare \"\(kind.rawValue)\" is \(kind.rawValue)+\(bare.scaling.rawValue)\(bare.warmup ? "+warmup" : "")"
        }.joined(separator: "; ")
    }

    @OptionGroup var options: TrainingOptions

    @Option(help: "Global batch sizes, comma-separated.", transform: parseList)
    var globalBatch: [Int] = [64, 256, 1024, 4096]

    @Option(help: "Scaling rules, comma-separated: none, linear, linear+warmup, sqrt, sqrt+warmup, \(OptimizerKind.ruleOptimizers.map(\.rawValue).joined(separator: ", ")), \(OptimizerKind.ruleOptimizers.map { $0.rawValue + "+sqrt+warmup" }.joined(separator: ", ")), ...; remedies as parts: +gbN (ghost batch N), +regime (the epochs budget as regime adaptation), +localH[afterE] (local SGD), e.g. sqrt+gb128+regime.")
    var rules = "none,linear+warmup,sqrt+warmup"

    @Option(help: "Seeds, comma-separated.", transform: parseList)
    var seeds: [UInt64] = [1]

    @Option(help: "The same budget for every run: epochs:N, steps:N, regime:E (as many steps as E epochs at --reference-batch: Hoffer et al. 2017's regime adaptation) or plateau:P[:MAX] (until the training loss stops improving).")
    var budget = "epochs:10"

    @Option(help: "Warmup length of the +warmup rules, in epochs.")
    var warmupEpochs = 2.0

    // One flag per rule optimizer (OptimizerKind.ruleOptimizers); ArgumentParser needs a property each.
    @Option(help: "Base rate of the lars rules at --reference-batch (0.1 with linear scaling and 2 warmup epochs trains the MLP to 0.86 at batch 64 and at 8192).")
    var larsLr = OptimizerKind.lars.defaultLearningRate

    @Option(help: "Base rate of the lamb rules at --reference-batch (LAMB moves each weight tensor by about this fraction of its norm per step).")
    var lambLr = OptimizerKind.lamb.defaultLearningRate

    @Flag(help: "Run the rules after the first only at batches above the smallest: the first rule is the small-batch baseline, the others remedies for large batches (e.g. --rules none,sqrt,sqrt+gb128,sqrt+gb128+regime as in Hoffer et al. 2017).")
    var remediesAboveSmallestOnly = false

    @Option(help: "Sweep folder (default sweeps/<timestamp>); an existing folder with files is refused.")
    var out: String?

    @Option(help: "Continue a cut sweep in this folder: its sweep.json gives the grid and settings (a flag given with a different value is refused); finished runs are kept, runs with a checkpoint continue from it (on any rank count dividing their global batches), the rest run.")
    var resume: String?

    @Flag(help: "With --out: continue the sweep there if it holds one (its sweep.json), start it there if the folder is missing or empty (for requeued batch jobs); the flags must be the sweep's own.")
    var autoResume = false

    func validate() throws {
        try requirePath(out, "--out")
        try requirePath(resume, "--resume")
        try require(!globalBatch.isEmpty && globalBatch.allSatisfy { $0 >= 1 }, "--global-batch sizes must be at least 1")
        try require(!seeds.isEmpty, "--seeds needs at least one seed")
        try require(warmupEpochs > 0 && warmupEpochs.isFinite, "--warmup-epochs must be positive")
        try require(larsLr > 0 && larsLr.isFinite, "--lars-lr must be positive")
        try require(!autoResume || (out != nil && resume == nil), "--auto-resume needs --out (and not --resume)")
        try require(lambLr > 0 && lambLr.isFinite, "--lamb-lr must be positive")
        if resume != nil { return }
        do {
            _ = try plan()
        } catch {
            throw ValidationError(String(describing: error))
        }
    }

    func plan() throws -> SweepPlan {
        // An empty item ("none,", "none,,sqrt") is a rule left out by a slip, not one to drop in silence.
        let items = rules.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.allSatisfy(\.isEmpty) else { throw ValidationError("--rules needs at least one rule") }
        guard !items.contains("") else { throw ValidationError("--rules '\(rules)' has an empty rule between its commas") }
        let ruleList = try items.map { try ScalingRule($0) }
        let budget = try Budget(budget)
        if ruleList.contains(where: \.regime) {
            switch budget {
            case .epochs, .regime: break
            default: throw ValidationError("a +regime rule needs an epochs:E (or regime:E) budget, not \(budget)")
            }
        }
        let plan = SweepPlan(base: options.settings, globalBatches: globalBatch, rules: ruleList, seeds: seeds,
                         budget: budget, warmupEpochs: warmupEpochs, larsLearningRate: larsLr, lambLearningRate: lambLr,
                         ghostBatches: options.ghostBatch.count > 1 ? options.ghostBatch : nil,
                         remediesAboveSmallestOnly: remediesAboveSmallestOnly ? true : nil, directory: out)
        let optimizers = ruleList.map { $0.optimizer ?? options.optimizer }
        if let problem = OptimizerKind.ignoredSetting(options.settings.optim, kinds: optimizers) { throw ValidationError(problem) }
        try plan.checkDistinctPoints()
        try plan.checkEveryRuleRuns()
        return plan
    }

    func run() throws {
        if autoResume { return try runCollective(blasThreads: options.blasThreads, collectiveTimeout: options.watchdogTimeout, autoResumed) }
        var plan: SweepPlan
        if let resume {
            let file = (resume as NSString).appendingPathComponent("sweep.json")
            do {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file): \(RunFolder.unreadableReason(file))")
                }
                let decoder = JSONDecoder()
                decoder.keyDecodingStrategy = .convertFromSnakeCase
                do { plan = try decoder.decode(SweepPlan.self, from: data) } catch {
                    throw ValidationError("\(file) is not a sweep plan this ddp reads (\(error))")
                }
            } catch {
                if LaunchEnvironment.rank() == 0 { writeError("cannot resume \(resume): \(error)") }
                throw ExitCode.failure
            }
            plan.directory = resume
            // The study file's keys are flags given, as train's --resume reads them: --config itself is no setting.
            let given = ResumeFlags.given(try StudyFile.expand(Array(CommandLine.arguments.dropFirst(2))).arguments)
            let conflicts = try contradictions(with: plan, given: given)
            if !conflicts.isEmpty {
                if LaunchEnvironment.rank() == 0 {
                    writeError("\(conflicts.joined(separator: ", ")) differ\(conflicts.count == 1 ? "s" : "") from the sweep in \(resume) "
                               + "(its sweep.json holds the grid and settings): drop \(conflicts.count == 1 ? "it" : "them") to resume, or start a new sweep with --out")
                }
                throw ExitCode.failure
            }
        } else {
            plan = try self.plan()
        }
        try runCollective(blasThreads: options.blasThreads, collectiveTimeout: options.watchdogTimeout) { comm in
            try sweep(plan, comm: comm, resuming: resume != nil)
        }
    }

    /// The grid in `folder`'s sweep.json, to run in that folder.
    func recordedPlan(_ folder: String) throws -> SweepPlan {
        let data = try Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("sweep.json")))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var plan = try decoder.decode(SweepPlan.self, from: data)
        plan.directory = folder
        return plan
    }

    /// --auto-resume: start in --out, or continue the sweep there if its grid is this command's.
    func autoResumed(_ comm: Communicator) throws {
        let folder = out!
        let plan = try self.plan()
        let state = try AutoResume.decide(folder, marker: "sweep.json", isRun: false, comm: comm)
        if state == .resume {
            // Every rank reads sweep.json, as --resume does; all reach the same verdict, rank 0 says it.
            var problem: String?
            do {
                var recorded = try recordedPlan(folder), given = plan
                (recorded.directory, given.directory) = (nil, nil)
                let differing = AutoResume.differences(given, recorded)
                if !differing.isEmpty {
                    problem = "--auto-resume: the sweep in \(folder) was started with another grid or settings "
                        + "(\(differing.joined(separator: ", "))); continue it as it was with --resume \(folder), or choose another --out"
                }
            } catch let error as DecodingError {  // read, but not a plan: "no readable sweep.json" would be false
                problem = "cannot resume \(folder): its sweep.json is not a sweep plan this ddp reads (\(error))"
            } catch {
                problem = "cannot resume \(folder): no readable sweep.json there (\(error.localizedDescription))"
            }
            if let problem { throw comm.rank == 0 ? TrainingFailure.reported(problem) : TrainingFailure.elsewhere(rank: 0) }
        }
        try sweep(plan, comm: comm, resuming: state == .resume)
    }

    func sweep(_ plan: SweepPlan, comm: Communicator, resuming: Bool) throws {
        StopSignal.install()
        let console = Console.standardOutput(progress: options.showProgress)
        // Each point's config.toml: every setting of that point, as a `ddp train` study file.
        let summaries = try Sweep.run(plan, comm: comm, console: console, resuming: resuming) { point in
            SettingsTable.toml(point.settings, header: StudyFile.header("sweep, point \(point.name)"))
        }
        if let last = summaries.last, last.interrupted == true {
            if comm.rank == 0 {
                let folder = (last.runDir as NSString).deletingLastPathComponent
                let cut = (last.runDir as NSString).lastPathComponent
                let counts = Sweep.rankCounts(plan.points(in: folder), recordedGhosts: last.ghostBatch.map { [cut: $0] } ?? [:],
                                              ranRanks: comm.size)
                console.line(stoppedLine(last, command: "sweep", ranks: comm.size, counts: counts, folder: folder))
            }
            throw ExitCode(StopSignal.exitCode(name: last.stopSignal ?? ""))
        }
    }
}
