// LARS (You et al. 2017, Algorithm 1) against steps worked by hand, and its eight-lane norms
// against a naive Double twin on segments longer than a lane block.
import Optim
import XCTest

final class LARSTests: XCTestCase {
    func testEachSegmentGetsItsOwnLocalRate() {
        // Sums [6, 8 | 0, 1] at scale 0.5 are means [3, 4 | 0, 0.5]; eta 0.1, lr 1, v starts at 0.
        // A: |w| = 5,  |g| = 5   -> local 0.1 * 5 / 5 = 0.1;   v = 0.1 * [3, 4] = [0.3, 0.4] -> w = [2.7, 3.6]
        // B: |w| = 10, |g| = 0.5 -> local 0.1 * 10 / 0.5 = 2;  v = 2 * [0, 0.5] = [0, 1]     -> w = [6, 7]
        // (One ratio over the whole buffer would be 0.1 * sqrt(125) / sqrt(25.25) = 0.2225 for both.)
        let lars = LARS(segments: [0..<2, 2..<4], trustCoefficient: 0.1)
        var p: [Float] = [3, 4, 6, 8]
        lars.step(parameters: &p, gradients: [6, 8, 0, 1], gradientScale: 0.5, learningRate: 1)
        assertEqual(p, [2.7, 3.6, 6, 7])
        assertEqual(lars.velocity.array, [0.3, 0.4, 0, 1])
    }

    func testMomentumCarriesTheRateScaledVelocity() {
        // Step 1, lr 1: |w| = 5, |g| = 5 -> local 0.1; v1 = [0.3, 0.4]; w1 = [2.7, 3.6], |w1| = sqrt(20.25) = 4.5.
        // Step 2, lr 2: g = [0, 9], |g| = 9 -> local 0.1 * 4.5 / 9 = 0.05; lr * local = 0.1;
        //   v2 = 0.9 * [0.3, 0.4] + 0.1 * [0, 9] = [0.27, 1.26]; w2 = [2.7 - 0.27, 3.6 - 1.26] = [2.43, 2.34].
        let lars = LARS(segments: [0..<2], momentum: 0.9, trustCoefficient: 0.1)
        var p: [Float] = [3, 4]
        lars.step(parameters: &p, gradients: [3, 4], gradientScale: 1, learningRate: 1)
        lars.step(parameters: &p, gradients: [0, 9], gradientScale: 1, learningRate: 2)
        assertEqual(lars.velocity.array, [0.27, 1.26])
        assertEqual(p, [2.43, 2.34])
    }

    func testWeightDecayEntersTheStepAndTheTrustRatio() {
        // Sums [0, 10] at scale 0.1: mean [0, 1], |g| = 1; wd 0.2, |w| = 5 so wd |w| = 1.
        // local = 0.1 * 5 / (1 + 1) = 0.25; g + wd w = [0.6, 1.8]; v = 0.25 * [0.6, 1.8] = [0.15, 0.45];
        // w = [3 - 0.15, 4 - 0.45] = [2.85, 3.55].
        let lars = LARS(segments: [0..<2], trustCoefficient: 0.1, weightDecay: 0.2)
        var p: [Float] = [3, 4]
        lars.step(parameters: &p, gradients: [0, 10], gradientScale: 0.1, learningRate: 1)
        assertEqual(p, [2.85, 3.55])
    }

    func testZeroNormsTakeLocalRateOne() {
        // eta 0.001, wd 0.1, lr 0.5.
        // A, zero weights (a fresh bias): local 1; v = 0.5 * [1, -2] -> w = [-0.5, 1].
        // B, zero gradient: local 1, although wd |w| = 0.5 > 0 would give 0.001 * 5 / 0.5 = 0.01;
        //    g = 0.1 * [3, 4]; v = 0.5 * [0.3, 0.4] = [0.15, 0.2] -> w = [2.85, 3.8].
        // C, both zero: local 1, g = 0, stays exactly 0 (no 0 / 0).
        let lars = LARS(segments: [0..<2, 2..<4, 4..<5], weightDecay: 0.1)
        var p: [Float] = [0, 0, 3, 4, 0]
        lars.step(parameters: &p, gradients: [1, -2, 0, 0, 0], gradientScale: 1, learningRate: 0.5)
        assertEqual(p, [-0.5, 1, 2.85, 3.8, 0])
        XCTAssertEqual(p[4], 0)
    }

    func testBiasSegmentsTakePlainStepsUnlessDecayAllThroughOptimizerKind() {
        // A Dense-like layout: weight (1, 2) at 0..<2, bias (1) at 2..<3; eta 0.1, lr 1, wd 0.5.
        // Weight: g = [3, 4] + 0.5 [3, 4] = [4.5, 6]; local 0.1 * 5 / (5 + 0.5 * 5) = 1/15;
        //   v = [0.3, 0.4] -> [2.7, 3.6].
        // Bias (a bias role: no trust ratio, no decay): plain step 0.5 - 1 * 2 = -1.5.
        // With decayAll the bias is adapted and decayed too: |b| = 0.5, |g| = 2 -> local 0.1 * 0.5 / (2 + 0.25)
        //   = 1/45; v = (2 + 0.25) / 45 = 0.05 -> 0.45.
        var settings = OptimizerKind.Settings()
        settings.trustCoefficient = 0.1
        settings.weightDecay = 0.5
        let segments = [ParameterSegment(range: 0..<2, isWeight: true), ParameterSegment(range: 2..<3, isWeight: false)]
        var p: [Float] = [3, 4, 0.5]
        OptimizerKind.lars.make(segments: segments, settings)
            .step(parameters: &p, gradients: [3, 4, 2], gradientScale: 1, learningRate: 1)
        assertEqual(p, [2.7, 3.6, -1.5])
        settings.decayAll = true
        p = [3, 4, 0.5]
        OptimizerKind.lars.make(segments: segments, settings)
            .step(parameters: &p, gradients: [3, 4, 2], gradientScale: 1, learningRate: 1)
        assertEqual(p, [2.7, 3.6, 0.45])
    }

    func testWeightDecayAppliesToWeightsOnlyUnlessDecayAll() {
        // SGD without momentum, lr 1, wd 0.1, zero gradients: a weight shrinks by 10%, a bias keeps its value.
        var settings = OptimizerKind.Settings()
        settings.momentum = 0
        settings.weightDecay = 0.1
        let segments = [ParameterSegment(range: 0..<2, isWeight: true), ParameterSegment(range: 2..<3, isWeight: false)]
        for kind in [OptimizerKind.sgd, .adamw] {
            var p: [Float] = [1, -2, 3]
            kind.make(segments: segments, settings).step(parameters: &p, gradients: [0, 0, 0], gradientScale: 1, learningRate: 1)
            assertEqual(p, [0.9, -1.8, 3])
            settings.decayAll = true
            p = [1, -2, 3]
            kind.make(segments: segments, settings).step(parameters: &p, gradients: [0, 0, 0], gradientScale: 1, learningRate: 1)
            assertEqual(p, [0.9, -1.8, 2.7])
            settings.decayAll = false
        }
    }

    func testPaperDefaults() {
        let lars = LARS(segments: [0..<1])
        XCTAssertEqual(lars.momentum, 0.9)
        XCTAssertEqual(lars.trustCoefficient, 0.001)
        XCTAssertEqual(lars.weightDecay, 0)
        XCTAssertEqual(OptimizerKind.Settings().trustCoefficient, 0.001)
    }

    func testLongSegmentsMatchANaiveDoubleTwin() {
        // 0..<3, then 3..<28: 25 values from an unaligned start (three 8-lane blocks and a tail), 40 more after.
        let segments = [0..<3, 3..<28, 28..<68]
        let count = 68
        var p = (0..<count).map { Float($0 % 7) - 3 }
        let steps: [[Float]] = [(0..<count).map { Float($0 % 5) - 1.5 }, (0..<count).map { Float(($0 * 3) % 11) - 4 }]
        let (scale, lr, mu, eta, wd): (Float, Float, Float, Float, Float) = (0.25, 0.5, 0.9, 0.01, 0.05)
        let lars = LARS(segments: segments, momentum: mu, trustCoefficient: eta, weightDecay: wd)

        var q = p.map(Double.init), v = [Double](repeating: 0, count: count)
        for gradients in steps {
            lars.step(parameters: &p, gradients: gradients, gradientScale: scale, learningRate: lr)
            for s in segments {
                let w = s.map { q[$0] }, g = s.map { Double(scale) * Double(gradients[$0]) }
                let wNorm = w.map { $0 * $0 }.reduce(0, +).squareRoot(), gNorm = g.map { $0 * $0 }.reduce(0, +).squareRoot()
                let local = wNorm > 0 && gNorm > 0 ? Double(eta) * wNorm / (gNorm + Double(wd) * wNorm) : 1
                for i in s {
                    v[i] = Double(mu) * v[i] + Double(lr) * local * (g[i - s.lowerBound] + Double(wd) * q[i])
                    q[i] -= v[i]
                }
            }
        }
        XCTAssertNotEqual(q, (0..<count).map { Double($0 % 7) - 3 })   // the steps moved something
        assertEqual(p, q.map(Float.init), accuracy: 1e-6)
    }

    func assertEqual(_ actual: [Float], _ expected: [Float], accuracy: Float = 1e-6,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        let within = zip(actual, expected).allSatisfy { abs($0 - $1) <= accuracy }   // false for NaN
        XCTAssertTrue(within, "got \(actual), expected \(expected)", file: file, line: line)
    }
}
