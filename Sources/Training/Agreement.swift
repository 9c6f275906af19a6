// Failures that every rank agrees on, so no rank is left waiting in a collective: each rank runs
// a fallible phase, then all learn (one allreduce) the lowest rank that failed. That rank reports
// its own message; the others fail silently; every rank exits non-zero.
import Collective

public enum TrainingFailure: Error {
    /// This rank found the fault; `message` is for the user.
    case reported(String)
    /// Another rank found and reported it.
    case elsewhere(rank: Int)
}

/// Runs `body` on this rank and agrees with the others on whether any of them failed.
func agreed<T>(_ comm: Communicator, _ body: () throws -> T) throws -> T {
    var result: Result<T, Error>
    do { result = .success(try body()) } catch { result = .failure(error) }
    var failed = false
    if case .failure = result { failed = true }
    if let rank = comm.firstFailingRank(failed) {
        if rank == comm.rank, case .failure(let error) = result {
            let prefix = comm.size > 1 ? "rank \(comm.rank) on \(comm.hostName): " : ""
            throw TrainingFailure.reported(prefix + String(describing: error))
        }
        throw TrainingFailure.elsewhere(rank: rank)
    }
    return try result.get()
}
