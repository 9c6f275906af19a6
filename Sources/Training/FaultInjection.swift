// Faults on purpose, for the tests that prove nothing is lost. DDP_FAULT=KIND:STEP:RANK:
//   kill  that rank SIGKILLs itself right after optimizer step STEP (and any checkpoint due there);
//   nan   that rank's input batch of step STEP (1-based) gets a NaN, so its loss and gradient do;
//   stop  that rank SIGSTOPs itself after step STEP: it stalls, for the collective watchdog;
//   torn  rank 0 dies halfway through writing the checkpoint of step STEP (half the bytes in the
//         temporary file, then SIGKILL).
//   skew  that rank's trace clock reads STEP seconds ahead, as another host's clock would, so the
//         trace's clock alignment is tested on one machine (whose ranks share one clock).
// Read once from the environment; without the variable it costs one comparison a step.
import Foundation

struct FaultInjection {
    enum Kind: String { case kill, nan, torn, stop, skew }
    let kind: Kind
    let step: Int
    let rank: Int

    static let current: FaultInjection? = {
        guard let text = ProcessInfo.processInfo.environment["DDP_FAULT"] else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 3, let kind = Kind(rawValue: String(parts[0])), let step = Int(parts[1]), let rank = Int(parts[2]) else {
            return nil
        }
        return FaultInjection(kind: kind, step: step, rank: rank)
    }()

    static func due(_ kind: Kind, step: Int, rank: Int) -> Bool {
        guard let fault = current else { return false }
        return fault.kind == kind && fault.step == step && fault.rank == rank
    }

    /// Seconds this rank's trace clock is set ahead (0 without a skew fault).
    static func clockSkew(rank: Int) -> Double {
        guard let fault = current, fault.kind == .skew, fault.rank == rank else { return 0 }
        return Double(fault.step)
    }

    /// Kills or stops this process if it is the chosen rank at the chosen step.
    static func check(step: Int, rank: Int) {
        if due(.kill, step: step, rank: rank) { kill(getpid(), SIGKILL) }
        if due(.stop, step: step, rank: rank) { kill(getpid(), SIGSTOP) }
    }
}
