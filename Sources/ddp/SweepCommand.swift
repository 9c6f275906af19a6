// `ddp sweep`: a grid of global batch x scaling rule x seed in one mpirun launch (see Sweep).
import ArgumentParser
import Collective
import Foundation
import Training

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train every global batch x rule x seed in one launch; one run folder each plus results.csv.",
        discussion: """
        Rules: none, linear, sqrt (how --lr at --reference-batch scales to each batch), each optionally +warmup
        (--warmup-epochs of Goyal et al. 2017 warmup); a lars+ prefix trains with LARS (You et al. 2017) from --lars-lr,
        a lamb+ prefix with LAMB (You et al. 2019) from --lamb-lr; bare "lars" is lars+linear+warmup, bare "lamb"
        lamb+sqrt+warmup. Rule parts +gbN, +regime and +localH add Hoffer et al.'s and Lin et al.'s remedies; a list of
        --ghost-batch sizes is a further axis. Batches larger than ranks x --batch-per-rank are reached by accumulation.
        Then: ddp report DIR.
        """)

    @OptionGroup var options: TrainingOptions

    @Option(help: "Global batch sizes, comma-separated.", transform: parseList)
    var globalBatch: [Int] = [64, 256, 1024, 4096]

    @Option(help: "Scaling rules, comma-separated: none, linear, linear+warmup, sqrt, sqrt+warmup, lars, lamb, lars+sqrt+warmup, ...; remedies as parts: +gbN (ghost batch N), +regime (the epochs budget as regime adaptation), +localH[afterE] (local SGD), e.g. sqrt+gb128+regime.")
    var rules = "none,linear+warmup,sqrt+warmup"

    @Option(help: "Seeds, comma-separated.", transform: parseList)
    var seeds: [UInt64] = [1]

    @Option(help: "The same budget for every run: epochs:N, steps:N, regime:E (as many steps as E epochs at --reference-batch: Hoffer et al. 2017's regime adaptation) or plateau:P[:MAX] (until the training loss stops improving).")
    var budget = "epochs:10"

    @Option(help: "Warmup length of the +warmup rules, in epochs.")
    var warmupEpochs = 2.0

    @Option(help: "Base rate of the lars rules at --reference-batch (0.1 with linear scaling and 2 warmup epochs trains the MLP to 0.86 at batch 64 and at 8192).")
    var larsLr = 0.1

    @Option(help: "Base rate of the lamb rules at --reference-batch (LAMB moves each weight tensor by about this fraction of its norm per step).")
    var lambLr = 0.01

    @Flag(help: "Run the rules after the first only at batches above the smallest: the first rule is the small-batch baseline, the others remedies for large batches (e.g. --rules none,sqrt,sqrt+gb128,sqrt+gb128+regime as in Hoffer et al. 2017).")
    var remediesAboveSmallestOnly = false

    @Option(help: "Sweep folder (default sweeps/<timestamp>); an existing folder with files is refused.")
    var out: String?

    @Option(help: "Continue a cut sweep in this folder: its sweep.json gives the grid (other grid flags are ignored); finished runs are kept, runs with a checkpoint continue from it, the rest run.")
    var resume: String?

    func validate() throws {
        try require(!globalBatch.isEmpty && globalBatch.allSatisfy { $0 >= 1 }, "--global-batch sizes must be at least 1")
        try require(!seeds.isEmpty, "--seeds needs at least one seed")
        try require(warmupEpochs > 0 && warmupEpochs.isFinite, "--warmup-epochs must be positive")
        try require(larsLr > 0 && larsLr.isFinite, "--lars-lr must be positive")
        try require(lambLr > 0 && lambLr.isFinite, "--lamb-lr must be positive")
        if resume != nil { return }
        do {
            _ = try plan()
        } catch {
            throw ValidationError(String(describing: error))
        }
    }

    func plan() throws -> SweepPlan {
        let ruleList = try rules.split(separator: ",").map { try ScalingRule(String($0)) }
        guard !ruleList.isEmpty else { throw ValidationError("--rules needs at least one rule") }
        let budget = try Budget(budget)
        if ruleList.contains(where: \.regime) {
            switch budget {
            case .epochs, .regime: break
            default: throw ValidationError("a +regime rule needs an epochs:E (or regime:E) budget, not \(budget)")
            }
        }
        return SweepPlan(base: options.settings, globalBatches: globalBatch, rules: ruleList, seeds: seeds,
                         budget: budget, warmupEpochs: warmupEpochs, larsLearningRate: larsLr, lambLearningRate: lambLr,
                         ghostBatches: options.ghostBatch.count > 1 ? options.ghostBatch : nil,
                         remediesAboveSmallestOnly: remediesAboveSmallestOnly ? true : nil, directory: out)
    }

    func run() throws {
        var plan: SweepPlan
        if let resume {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: (resume as NSString).appendingPathComponent("sweep.json")))
                let decoder = JSONDecoder()
                decoder.keyDecodingStrategy = .convertFromSnakeCase
                plan = try decoder.decode(SweepPlan.self, from: data)
            } catch {
                if LaunchEnvironment.rank() == 0 { writeError("cannot resume \(resume): no readable sweep.json there (\(error.localizedDescription))") }
                throw ExitCode.failure
            }
            plan.directory = resume
        } else {
            plan = try self.plan()
        }
        try runCollective(blasThreads: options.blasThreads, collectiveTimeout: options.watchdogTimeout) { comm in
            try Sweep.run(plan, comm: comm, console: .standardOutput(progress: options.showProgress), resuming: resume != nil)
        }
    }
}
