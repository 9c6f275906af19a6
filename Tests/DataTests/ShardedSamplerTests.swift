// Per epoch and across ranks: every index exactly once, ranks disjoint, the same on every rank.
import Data
import XCTest

final class ShardedSamplerTests: XCTestCase {
    func shards(count: Int, ranks: Int, batch: Int, accumulation: Int, epoch: Int, seed: UInt64 = 4) -> [[Int32]] {
        (0..<ranks).map { rank in
            var sampler = ShardedSampler(sampleCount: count, seed: seed, rank: rank, ranks: ranks,
                                         batchPerRank: batch, accumulation: accumulation)
            sampler.startEpoch(epoch)
            var taken: [Int32] = []
            for step in 0..<sampler.stepsPerEpoch {
                for micro in 0..<accumulation {
                    sampler.withIndices(step: step, micro: micro) { taken += $0 }
                }
            }
            return taken
        }
    }

    func testEveryIndexExactlyOncePerEpochAcrossRanks() {
        // 103 samples do not divide the global batch 2 x 8 x 3 = 48: the last step is short.
        for (ranks, accumulation) in [(1, 1), (2, 3), (4, 1), (3, 2)] {
            let all = shards(count: 103, ranks: ranks, batch: 8, accumulation: accumulation, epoch: 2)
            XCTAssertEqual(all.flatMap { $0 }.sorted(), (0..<103).map(Int32.init), "ranks \(ranks) accumulation \(accumulation)")
            for a in 0..<ranks { for b in (a + 1)..<max(ranks, a + 1) where b < ranks {
                XCTAssertTrue(Set(all[a]).isDisjoint(with: all[b]))
            } }
        }
    }

    func testSameGlobalBatchMeansSameSamplesPerStep() {
        // 2 ranks x 4 and 1 rank x 4 x 2 accumulation see the same 8 samples in step 0.
        let twoRanks = shards(count: 40, ranks: 2, batch: 4, accumulation: 1, epoch: 0)
        let accumulated = shards(count: 40, ranks: 1, batch: 4, accumulation: 2, epoch: 0)
        XCTAssertEqual(Set(twoRanks[0].prefix(4) + twoRanks[1].prefix(4)), Set(accumulated[0].prefix(8)))
    }

    func testPermutationDependsOnSeedAndEpochOnly() {
        let a = shards(count: 50, ranks: 2, batch: 5, accumulation: 1, epoch: 1)
        XCTAssertEqual(a, shards(count: 50, ranks: 2, batch: 5, accumulation: 1, epoch: 1))
        XCTAssertNotEqual(a, shards(count: 50, ranks: 2, batch: 5, accumulation: 1, epoch: 2))
        XCTAssertNotEqual(a, shards(count: 50, ranks: 2, batch: 5, accumulation: 1, epoch: 1, seed: 5))
    }

    func testEveryElementReachesEveryPosition() {
        // Fisher-Yates is uniform: over 2000 epochs each of 5 elements sits at each position about
        // 400 times (binomial sd 18). An off-by-one such as Sattolo's j < i never leaves one in place.
        var sampler = ShardedSampler(sampleCount: 5, seed: 9, rank: 0, ranks: 1, batchPerRank: 5, accumulation: 1)
        var counts = [[Int]](repeating: [Int](repeating: 0, count: 5), count: 5)
        for epoch in 0..<2000 {
            sampler.startEpoch(epoch)
            sampler.withIndices(step: 0, micro: 0) { for (position, element) in $0.enumerated() { counts[Int(element)][position] += 1 } }
        }
        for row in counts { for count in row { XCTAssertEqual(Double(count), 400, accuracy: 100, "\(counts)") } }
    }

    func testShortLastBatchClipsRankSlices() {
        var sampler = ShardedSampler(sampleCount: 10, seed: 1, rank: 1, ranks: 2, batchPerRank: 4, accumulation: 1)
        XCTAssertEqual(sampler.stepsPerEpoch, 2)
        sampler.startEpoch(0)
        XCTAssertEqual(sampler.range(step: 0, micro: 0), 4..<8)
        XCTAssertEqual(sampler.range(step: 1, micro: 0).count, 0)   // rank 1 gets nothing of the 2 left
        let rank0 = ShardedSampler(sampleCount: 10, seed: 1, rank: 0, ranks: 2, batchPerRank: 4, accumulation: 1)
        XCTAssertEqual(rank0.range(step: 1, micro: 0), 8..<10)
    }
}
