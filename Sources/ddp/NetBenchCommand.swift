// `ddp netbench`: allreduce time against message size on the ranks' real transport, the fitted
// latency-bandwidth model, and projected scaling to more ranks, validated here (see NetworkBench).
// A command of its own, not a `bench` flag: it times the network and the step together and
// projects, where `bench` times the step against the core's peak; their flags barely overlap.
import ArgumentParser
import Foundation
import Training

struct NetBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netbench",
        abstract: "Time the allreduce against message size, fit a latency-bandwidth model, and project samples/s and weak scaling to more ranks; write netbench.json.",
        discussion: """
        Run under mpirun across the hosts to model, e.g. 2 namespace hosts at 10 Gbit/s:
          DDP_NETNS_RATE=10gbit launch/netns-hosts.sh up 2 /tmp/h; /tmp/h/mpirun -np 2 ddp netbench --model keskar-c1 --data synthetic
        Prints the allreduce times and the ring model's fit (alpha, beta); rank 0's step alone; the step on all ranks
        measured without and with --overlap (buckets of --bucket-kb), each beside its projection; and the projection
        to --project-to ranks, with and without the allreduce behind backward.
        """)

    @OptionGroup var options: TrainingOptions

    @Option(name: .customLong("batches"), help: "Batches per rank, comma-separated (overrides --batch-per-rank).", transform: parseList)
    var batches: [Int] = []

    @Option(help: "Allreduce sizes in KB, comma-separated.", transform: parseList)
    var sizes: [Int] = [4, 16, 64, 256, 1024, 4096, 16384]

    @Option(name: .customLong("project-to"), help: "Rank counts to project to, comma-separated.", transform: parseList)
    var projectTo: [Int] = [8, 16, 64, 256]

    @Option(help: "Timed optimizer steps per measurement.")
    var steps = 40

    @Option(help: "Untimed steps first.")
    var warmup = 5

    @Option(help: "Where to write the figures as JSON; an existing file is refused.")
    var out = "netbench.json"

    @Option(help: "Seed.")
    var seed: UInt64 = 1

    func validate() throws {
        try validateTiming(batches: batches, steps: steps, warmup: warmup, out: out)
        try require(sizes.count >= 2 && sizes.allSatisfy { $0 >= 1 && $0 <= 1 << 20 }, "--sizes needs two or more sizes from 1 to \(1 << 20) KB")
        try require(projectTo.allSatisfy { $0 >= 2 }, "--project-to ranks must be at least 2 each")
    }

    func run() throws {
        var base = options.settings
        base.seed = seed
        let settings = NetBenchSettings(base: base, batchesPerRank: batches.isEmpty ? [options.batchPerRank] : batches,
                                        sizes: sizes.map { $0 * 1024 }, steps: steps, warmup: warmup, projectTo: projectTo)
        try runCollective(blasThreads: options.blasThreads, collectiveTimeout: options.watchdogTimeout) { comm in
            let console = Console.standardOutput(progress: false)
            let record = try NetworkBench.run(settings, comm: comm, console: console)
            if comm.rank == 0 {
                console.line(NetworkBench.table(record))
                try writeFigures(record, to: out, console: console)
            }
        }
    }
}
