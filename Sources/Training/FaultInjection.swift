// Faults on purpose, for the tests that prove nothing is lost. DDP_FAULT=KIND:STEP:RANK:
//   kill  that rank SIGKILLs itself right after optimizer step STEP (and any checkpoint due there);
//   nan   that rank's input batch of step STEP (1-based) gets a NaN, so its loss and gradient do;
//   stop  that rank SIGSTOPs itself after step STEP: it stalls, for the collective watchdog;
//   torn  rank 0 dies halfway through writing the checkpoint of step STEP (half the bytes in the
//         temporary file, then SIGKILL);
//   term  that rank sends itself SIGTERM after step STEP (a signal that reaches one rank only);
//   int   the same with SIGINT (mpirun turns a SIGINT sent to it into SIGTERM for the ranks, so
//         this is how a rank's own SIGINT path is tested);
//   slow  that rank, writing any checkpoint (STEP is ignored), stops 1 s halfway, with half the
//         bytes in the temporary file: a window for a second signal during the write;
//   skew  that rank's trace clock reads STEP seconds ahead, as another host's clock would, so the
//         trace's clock alignment is tested on one machine (whose ranks share one clock);
//   pace  that rank sleeps STEP milliseconds after every step, so the whole job does (the others
//         wait in the allreduce): a run long enough for a test's signal to land mid-run, however
//         fast the build and the machine.
// Several faults may be joined by commas (slow:0:0,pace:2:0). Read once from the environment;
// without the variable it costs one comparison a step.
import Foundation

struct FaultInjection {
    enum Kind: String { case kill, nan, torn, stop, term, int, slow, skew, pace }
    let kind: Kind
    let step: Int
    let rank: Int

    static let current: [FaultInjection] = {
        guard let text = ProcessInfo.processInfo.environment["DDP_FAULT"] else { return [] }
        return text.split(separator: ",").compactMap { item in
            let parts = item.split(separator: ":")
            guard parts.count == 3, let kind = Kind(rawValue: String(parts[0])), let step = Int(parts[1]), let rank = Int(parts[2]) else {
                return nil
            }
            return FaultInjection(kind: kind, step: step, rank: rank)
        }
    }()

    /// The fault of this kind for this rank, if one was asked for.
    static func chosen(_ kind: Kind, rank: Int) -> FaultInjection? {
        current.first { $0.kind == kind && $0.rank == rank }
    }

    static func due(_ kind: Kind, step: Int, rank: Int) -> Bool {
        chosen(kind, rank: rank)?.step == step
    }

    /// Seconds this rank's trace clock is set ahead (0 without a skew fault).
    static func clockSkew(rank: Int) -> Double {
        chosen(.skew, rank: rank).map { Double($0.step) } ?? 0
    }

    /// Paces, kills or stops this process if it is the chosen rank (at the chosen step).
    static func check(step: Int, rank: Int) {
        guard !current.isEmpty else { return }
        if let pace = chosen(.pace, rank: rank) { usleep(useconds_t(1000 * max(pace.step, 0))) }
        if due(.kill, step: step, rank: rank) { kill(getpid(), SIGKILL) }
        if due(.stop, step: step, rank: rank) { kill(getpid(), SIGSTOP) }
        if due(.term, step: step, rank: rank) { kill(getpid(), SIGTERM) }
        if due(.int, step: step, rank: rank) { kill(getpid(), SIGINT) }
    }

    /// With `slow`: half of `bytes` into `temporary`, then a 1 s pause that signals do not shorten.
    static func pauseInCheckpoint(rank: Int, bytes: [UInt8], temporary: String) {
        guard chosen(.slow, rank: rank) != nil else { return }
        try? Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: temporary))
        let end = Date().addingTimeInterval(1)
        while Date() < end { usleep(10_000) }
    }
}
