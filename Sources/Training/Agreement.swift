// Failures that every rank agrees on, so no rank is left waiting in a collective: each rank runs
// a fallible phase, then all learn (one allreduce) the lowest rank that failed. That rank reports
// its own message; the others fail silently; every rank exits non-zero. A value each rank makes
// for itself that must be the same on all (the data each read from its own disk) is checked too:
// its fingerprint is gathered and rank 0 names the first rank that differs, since ranks holding
// other sample counts issue other collectives (an MPI error far from the cause) and other samples
// train a run no one asked for.
import Collective
import Data
import Tensor

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
    let value = try result.get()
    // Every rank has a T here (one call site, one build: LaunchAgreement), so all take this branch or none.
    if comm.size > 1, let local = value as? SameOnEveryRank { try requireSame(local, comm) }
    return value
}

/// A value every rank makes for itself and must hold alike. `fingerprint`: the same length for
/// every value of the type.
protocol SameOnEveryRank {
    var fingerprint: [Double] { get }
    /// What the fingerprint says, for the message ("200 train and 50 test samples ...").
    static func describe(_ fingerprint: [Double]) -> String
    /// The message's verb phrase and advice: "read other data than", "every host needs ...".
    static var differs: (what: String, advice: String) { get }
}

/// Rank 0 names the lowest rank whose fingerprint differs from its own. Collective.
func requireSame<V: SameOnEveryRank>(_ local: V, _ comm: Communicator) throws {
    let all = comm.allgather(local.fingerprint)
    let hosts = comm.allgather(comm.hostName)
    if let message = sameOnEveryRankProblem(all, hosts: hosts, type: V.self) {
        throw comm.rank == 0 ? TrainingFailure.reported(message) : TrainingFailure.elsewhere(rank: 0)
    }
}

/// The message for the lowest rank whose fingerprint is not rank 0's, or nil.
func sameOnEveryRankProblem<V: SameOnEveryRank>(_ fingerprints: [[Double]], hosts: [String], type: V.Type) -> String? {
    let mine = fingerprints[0].map(\.bitPattern)
    guard let rank = fingerprints.indices.first(where: { fingerprints[$0].map(\.bitPattern) != mine }) else { return nil }
    return "rank \(rank) on \(hosts[rank]) \(V.differs.what) rank 0 (\(V.describe(fingerprints[rank])); rank 0: "
        + "\(V.describe(fingerprints[0]))); \(V.differs.advice)"
}

extension DataSplit: SameOnEveryRank {
    /// Counts, sample shape and classes, then one FNV-1a over the training pixels' per-channel mean
    /// and std (from every pixel) and both label arrays: cheap next to reading the files.
    var fingerprint: [Double] {
        var hash = Checksum.offsetBasis
        for floats in [normalizer.mean, normalizer.std] {
            hash = floats.withUnsafeBytes { Checksum.fnv1a($0, continuing: hash) }
        }
        for labels in [train.labels, test.labels] {
            hash = labels.withUnsafeBytes { Checksum.fnv1a($0, continuing: hash) }
        }
        return [train.count, test.count, train.channels, train.height, train.width, train.classes].map(Double.init)
            + [Double(bitPattern: hash)]
    }

    static func describe(_ f: [Double]) -> String {
        let n = f.dropLast().map { Int($0) }
        return "\(n[0]) train and \(n[1]) test samples of [\(n[2]), \(n[3]), \(n[4])] x \(n[5]) classes, fingerprint \(Checksum.hex(f[6].bitPattern))"
    }

    static var differs: (what: String, advice: String) {
        ("read other data than", "every host must hold the same files at the --data path (copy them again, or use a shared folder)")
    }
}

extension ResolvedConfig: SameOnEveryRank {
    /// The settings' hash (as a checkpoint keeps it, without the run folder only rank 0 writes) and
    /// the batch and step counts derived from them and the data. The command line is the same on every
    /// rank (LaunchAgreement); a study file (--config) read on each host need not be.
    var fingerprint: [Double] {
        [Double(bitPattern: UInt64(Checkpoint.configHash(settings), radix: 16) ?? 0)]
            + [globalBatch, batchPerRank, accumulate, totalSteps].map(Double.init)
    }

    static func describe(_ f: [Double]) -> String {
        let n = f.dropFirst().map { Int($0) }
        return "settings hash \(Checksum.hex(f[0].bitPattern)), global batch \(n[0]) = \(n[1]) per rank x \(n[2]) accumulation, \(n[3]) steps"
    }

    static var differs: (what: String, advice: String) {
        ("resolved other settings than", "every rank must read the same settings (is a --config file different on that host?)")
    }
}
