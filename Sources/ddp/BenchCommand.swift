// `ddp bench`: training-step speed per batch per rank against the GEMM ceiling (see Benchmark).
import ArgumentParser
import Foundation
import Training

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the training step per batch per rank on real data, against the core's sgemm peak; write bench.json.",
        discussion: """
        Run under mpirun like train: launch/local.sh 2 bench --model mlp --batch-per-rank 32,128,512 --scaling
        Prints samples/s (median step), per-phase ms per step, the allreduce share, the achieved GFLOP/s of
        the step (operations counted by the model, layer by layer), its fraction of the core's peak (a
        1536^3 single-threaded sgemm) and of the ceiling (the step's matrix products alone through
        cblas_sgemm), both measured by every rank at once; with --scaling the weak-scaling efficiency
        against rank 0 alone; with --layers each layer's forward and backward ms and GFLOP/s.
        """)

    @OptionGroup var options: TrainingOptions

    @Option(name: .customLong("batches"), help: "Batches per rank to time, comma-separated (overrides --batch-per-rank).", transform: parseList)
    var batches: [Int] = []

    @Option(help: "Timed optimizer steps per batch.")
    var steps = 200

    @Option(help: "Untimed steps first.")
    var warmup = 20

    @Flag(help: "Also time rank 0 alone at the same batch per rank (weak-scaling efficiency).")
    var scaling = false

    @Flag(help: "Also time every layer's forward and backward pass (ms and GFLOP/s per layer, extra steps).")
    var layers = false

    @Option(help: "Where to write the figures as JSON; an existing file is refused.")
    var out = "bench.json"

    @Option(help: "Seed.")
    var seed: UInt64 = 1

    func validate() throws {
        try validateTiming(batches: batches, steps: steps, warmup: warmup, out: out)
    }

    func run() throws {
        var base = options.settings
        base.seed = seed
        let settings = BenchSettings(base: base, batchesPerRank: batches.isEmpty ? [options.batchPerRank] : batches,
                                     steps: steps, warmup: warmup, scaling: scaling, layers: layers)
        try runCollective(blasThreads: options.blasThreads, collectiveTimeout: options.watchdogTimeout) { comm in
            let console = Console.standardOutput(progress: false)
            let record = try Benchmark.run(settings, comm: comm, console: console)
            if comm.rank == 0 {
                console.line(Benchmark.table(record))
                try writeFigures(record, to: out, console: console)
            }
        }
    }
}
