// Which samples this rank takes in each micro-batch. Every epoch has one seeded permutation,
// identical on every rank. A global batch of G = ranks * batchPerRank * accumulation consecutive
// permuted samples is split into `accumulation` micro-batches of ranks * batchPerRank, and rank r
// takes the r-th run of batchPerRank in each. The last global batch of an epoch may be short: its
// slices are clipped (possibly to nothing), and the trainer divides by the real global count.
import Tensor

public struct ShardedSampler {
    public let sampleCount: Int
    public let seed: UInt64
    public let rank: Int
    public let ranks: Int
    public let batchPerRank: Int
    public let accumulation: Int
    public private(set) var epoch = -1
    private var permutation: [Int32]

    public init(sampleCount: Int, seed: UInt64, rank: Int, ranks: Int, batchPerRank: Int, accumulation: Int) {
        precondition(sampleCount > 0 && ranks > 0 && rank < ranks && batchPerRank > 0 && accumulation > 0)
        self.sampleCount = sampleCount
        self.seed = seed
        self.rank = rank
        self.ranks = ranks
        self.batchPerRank = batchPerRank
        self.accumulation = accumulation
        self.permutation = (0..<sampleCount).map { Int32($0) }
    }

    public var globalBatch: Int { ranks * batchPerRank * accumulation }
    public var stepsPerEpoch: Int { (sampleCount + globalBatch - 1) / globalBatch }

    /// Shuffles for `epoch` (Fisher-Yates from the identity, so it depends on seed and epoch only).
    public mutating func startEpoch(_ epoch: Int) {
        self.epoch = epoch
        var rng = SplitMix64(seed: seed, stream: 3, index: UInt64(epoch))
        for i in 0..<sampleCount { permutation[i] = Int32(i) }
        for i in stride(from: sampleCount - 1, to: 0, by: -1) {
            let j = rng.below(i + 1)
            permutation.swapAt(i, j)
        }
    }

    /// This rank's sample range within the permutation for (step, micro-batch); may be empty.
    public func range(step: Int, micro: Int) -> Range<Int> {
        let stepEnd = min((step + 1) * globalBatch, sampleCount)
        let start = step * globalBatch + micro * ranks * batchPerRank + rank * batchPerRank
        let end = min(start + batchPerRank, stepEnd)
        return start < end ? start..<end : stepEnd..<stepEnd
    }

    /// Calls `body` with this rank's sample indices for (step, micro-batch), without copying.
    public func withIndices<R>(step: Int, micro: Int, _ body: (UnsafeBufferPointer<Int32>) -> R) -> R {
        let r = range(step: step, micro: micro)
        return permutation.withUnsafeBufferPointer { all in
            body(UnsafeBufferPointer(rebasing: all[r]))
        }
    }
}
