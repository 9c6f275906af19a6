// The noise scale's estimator as the trainer feeds it (sum_r b_r |g_r|^2 / sum_r b_r with 1/b =
// k / sum_r b_r, and |g_B|^2 over the step), on a finite population of vectors drawn without
// replacement, against the exact tr(Sigma) and |G|^2: unequal per-rank batches, as the last short
// batch of an epoch gives them, must stay unbiased (McCandlish et al. 2018, appendix A.1).
import Tensor
@testable import Training
import XCTest

final class NoiseScaleEstimatorTests: XCTestCase {
    func testUnequalRankBatchesWithoutReplacementAreUnbiased() {
        let (n, d) = (40, 3)
        var rng = SplitMix64(seed: 11)
        let population = (0..<n).map { _ in (0..<d).map { j in Double(rng.uniform(-1, 1)) + (j == 0 ? 0.3 : 0) } }
        let mean = (0..<d).map { j in population.reduce(0) { $0 + $1[j] } / Double(n) }
        let squaredNorm = mean.reduce(0) { $0 + $1 * $1 }
        let trace = population.reduce(0) { total, g in total + zip(g, mean).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } } / Double(n)

        for (ranks, corrected) in [([8, 8, 3], true), ([8, 8, 3], false), ([5, 12], true)] {
            var scale = GradientNoiseScale(smoothing: 0.9999, populationSize: corrected ? n : nil)
            var order = Array(0..<n)
            for _ in 0..<60_000 {
                order.shuffle(using: &rng)
                var (weighted, start, big) = (0.0, 0, [Double](repeating: 0, count: d))
                for b in ranks {
                    var sum = [Double](repeating: 0, count: d)
                    for i in order[start ..< start + b] { for j in 0..<d { sum[j] += population[i][j] } }
                    weighted += sum.reduce(0) { $0 + $1 * $1 } / Double(b)   // b_r |g_r|^2 = |sum_r|^2 / b_r
                    for j in 0..<d { big[j] += sum[j] }
                    start += b
                }
                let total = Double(start)
                scale.update(smallSquaredNorm: weighted / total, smallInverseBatch: Double(ranks.count) / total,
                             bigSquaredNorm: big.reduce(0) { $0 + $1 * $1 } / (total * total), bigBatch: total)
            }
            let (t, g) = (scale.traceEstimate!, scale.squaredNormEstimate!)
            if corrected {
                XCTAssertEqual(t, trace, accuracy: 0.02 * trace, "\(ranks): tr(Sigma)")
                XCTAssertEqual(g, squaredNorm, accuracy: 0.02 * squaredNorm, "\(ranks): |G|^2")
            } else {
                // Without the correction |G|^2 is low by tr(Sigma) / (N - 1), as the header says.
                XCTAssertEqual(g, squaredNorm - trace / Double(n - 1), accuracy: 0.02 * squaredNorm, "\(ranks): uncorrected |G|^2")
            }
        }
    }
}
