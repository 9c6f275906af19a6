// LAMB (You et al. 2019, Algorithm 2) against steps worked by hand: a per-tensor trust ratio
// |w| / |r| on r = m-hat / (sqrt(v-hat) + eps) + wd w, and weight decay and the ratio by role.
import Optim
import XCTest

final class LAMBTests: XCTestCase {
    func testTrustRatioPerTensorAndDecayByRole() {
        // Sums [2, -2, 4] at scale 0.5: g = [1, -1, 2]. Step 1: m-hat = g, v-hat = g^2, so
        // m-hat / sqrt(v-hat) = sign(g) (eps 1e-12 is below float resolution here). wd 0.5, lr 0.1.
        // Weight [3, 4]: r = [1, -1] + 0.5 [3, 4] = [2.5, 1]; ratio 5 / sqrt(7.25) = 1.8569534;
        //   w = [3, 4] - 0.18569534 [2.5, 1] = [2.5357617, 3.8143047].
        // Bias [0.5] (a bias role: ratio 1, no decay): plain Adam, 0.5 - 0.1 * 1 = 0.4.
        // With decayAll the bias is decayed and adapted: r = 1 + 0.25 = 1.25, ratio 0.5 / 1.25 = 0.4,
        //   0.5 - 0.1 * 0.4 * 1.25 = 0.45.
        var settings = OptimizerKind.Settings()
        settings.weightDecay = 0.5
        settings.epsilon = 1e-12
        let segments = [ParameterSegment(range: 0..<2, isWeight: true), ParameterSegment(range: 2..<3, isWeight: false)]
        var p: [Float] = [3, 4, 0.5]
        OptimizerKind.lamb.make(segments: segments, settings).step(parameters: &p, gradients: [2, -2, 4], gradientScale: 0.5, learningRate: 0.1)
        assertClose(p, [2.5357617, 3.8143047, 0.4])
        settings.decayAll = true
        p = [3, 4, 0.5]
        OptimizerKind.lamb.make(segments: segments, settings).step(parameters: &p, gradients: [2, -2, 4], gradientScale: 0.5, learningRate: 0.1)
        assertClose(p, [2.5357617, 3.8143047, 0.45])
    }

    func testSecondStepUsesBiasCorrectedMomentsAndTheNewNorm() {
        // One tensor, betas 0.9 / 0.999, no decay, lr 0.1.
        // Step 1, g = [1, 1]: r = [1, 1], ratio 5 / sqrt(2); w = [3, 4] - 0.35355339 = [2.6464466, 3.6464466].
        // Step 2, g = [1, -1]: m = [0.19, -0.01], v = [0.001999, 0.001999]; corrections 0.19 and 0.001999, so
        //   m-hat = [1, -0.05263158], v-hat = [1, 1], r = [1, -0.05263158], |r| = 1.0013841;
        //   |w| = 4.5055802, ratio 4.4993527; w = [2.6464466 - 0.44993527, 3.6464466 + 0.02368080]
        //   = [2.1965113, 3.6701274].
        let lamb = LAMB(segments: [0..<2], epsilon: 1e-12)
        var p: [Float] = [3, 4]
        lamb.step(parameters: &p, gradients: [1, 1], gradientScale: 1, learningRate: 0.1)
        assertClose(p, [2.6464466, 3.6464466])
        lamb.step(parameters: &p, gradients: [1, -1], gradientScale: 1, learningRate: 0.1)
        assertClose(p, [2.1965113, 3.6701274])
        assertClose(lamb.m.array, [0.19, -0.01])
        XCTAssertEqual(lamb.counters, [2])
    }

    func testZeroWeightsTakeRatioOne() {
        // A fresh zero tensor: |w| = 0, ratio 1 (not 0, which would freeze it): w = -0.1 sign(g).
        let lamb = LAMB(segments: [0..<2], epsilon: 1e-12)
        var p: [Float] = [0, 0]
        lamb.step(parameters: &p, gradients: [3, -5], gradientScale: 1, learningRate: 0.1)
        assertClose(p, [-0.1, 0.1])
    }

    func assertClose(_ actual: [Float], _ expected: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: 2e-6 * max(1, abs(e)), "got \(actual)", file: file, line: line) }
    }
}
