// (Post-)local SGD's averaging (see LocalSync): every `period` local steps, and at each evaluation
// and checkpoint, the ranks replace their parameters, BatchNorm state and optimizer buffers by the
// mean over ranks. Checkpoints are therefore always taken right after an averaging, when every rank
// holds the same buffers and rank 0's file describes them all; resuming restarts the period there.
import Collective
import Tensor

extension Trainer {
    /// Whether the step about to run in the sampler's current epoch is a local one.
    var isLocalPhase: Bool {
        guard let sync = config.settings.sync else { return false }
        return sampler.epoch >= sync.afterEpochs
    }

    /// After a local step: whether the ranks average now (`forced` at evaluations and checkpoints).
    func averagingDue(forced: Bool) -> Bool {
        guard let sync = config.settings.sync, stepsSinceAveraging > 0 else { return false }
        return forced || stepsSinceAveraging >= sync.period
    }

    /// Collective. Averages every buffer a step depends on, then checks the replicas are identical
    /// (an allreduce gives every rank the same sums, so they must be bit for bit). Counts the
    /// averagings at which the replicas had differed, which local steps on different shards make the rule.
    func averageReplicas() throws {
        let start = monotonicSeconds()
        comm.setContext("a local-SGD averaging", step: -1)
        let before = comm.allgather(parameterChecksum)
        let inverse = 1 / Float(comm.size)
        for buffer in [parameters, state] + optimizer.stateBuffers where buffer.count > 0 {
            comm.allreduceSum(buffer.buffer)
            let p = buffer.pointer
            for i in 0..<buffer.count { p[i] *= inverse }
        }
        localAveraging.count += 1
        if before.contains(where: { $0 != before[0] }) { localAveraging.replicasDiffered += 1 }
        stepsSinceAveraging = 0
        timer.recordOutsideStep(.allreduce, from: start, to: monotonicSeconds())
        _ = try agreeOnReplicas()
    }
}

/// How many averagings a local-SGD run made (since its last start), and at how many the replicas had differed.
public struct LocalAveragingCounts: Codable, Sendable, Equatable {
    public var count = 0
    public var replicasDiffered = 0
}
