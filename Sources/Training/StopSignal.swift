// Stopping on a signal. SIGTERM, SIGINT or SIGUSR1 reaching any rank stops every rank at the same
// step boundary: the handler (CSignal) only sets a flag, each rank puts its flag in the step's
// allreduce tail (Trainer.Tail.stop), so all ranks read the same sum after the same step; rank 0
// then writes the checkpoint of that step. Exit codes follow the shell: 128 + the signal number.
import CSignal
import Collective
import Foundation

public enum StopSignal {
    /// Call once on every rank, after MPI has started (so MPI's own start-up keeps its handlers).
    public static func install() { stop_signal_install() }

    /// The first stop signal this process received (0: none). One C call, no allocation.
    static var received: Int32 { stop_signal_first() }

    /// The signal every rank reports once a stop is agreed: the lowest number any rank received
    /// (ranks may have been sent different ones). Collective, once per stop.
    static func agreed(_ comm: Communicator) -> Int32 {
        let mine = received
        var value = [mine > 0 ? mine : Int32.max]
        value.withUnsafeMutableBufferPointer { comm.allreduceMin($0) }
        return value[0] == Int32.max ? SIGTERM : value[0]
    }

    static let names: [(Int32, String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGUSR1, "SIGUSR1")]

    public static func name(_ number: Int32) -> String {
        names.first { $0.0 == number }?.1 ?? "signal \(number)"
    }

    /// What every rank exits with after a stop: 143 for SIGTERM, 130 for SIGINT, 138 for SIGUSR1 (Linux).
    public static func exitCode(name: String) -> Int32 {
        128 + (names.first { $0.1 == name }?.0 ?? SIGTERM)
    }
}
