// Faults on purpose, for the tests that prove nothing is lost: DDP_FAULT=kill:STEP:RANK makes
// that rank SIGKILL itself right after finishing optimizer step STEP (and any checkpoint due
// there). Read once from the environment; without the variable it costs one comparison a step.
import Foundation

struct FaultInjection {
    let step: Int
    let rank: Int

    static let current: FaultInjection? = {
        guard let text = ProcessInfo.processInfo.environment["DDP_FAULT"] else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 3, parts[0] == "kill", let step = Int(parts[1]), let rank = Int(parts[2]) else { return nil }
        return FaultInjection(step: step, rank: rank)
    }()

    /// Kills this process if it is the chosen rank at the chosen step.
    static func check(step: Int, rank: Int) {
        guard let fault = current, fault.step == step, fault.rank == rank else { return }
        kill(getpid(), SIGKILL)
    }
}
