// Adam and AdamW against steps worked by hand.
import Foundation
import Optim
import Tensor
import XCTest

final class AdamTests: XCTestCase {
    func testFirstStepMovesEachParameterByTheRateTimesTheSignOfItsGradient() {
        // t = 1: mhat = g, vhat = g^2, so the update is lr * g / (|g| + eps) = lr * sign(g).
        let adam = Adam(parameterCount: 3)
        var p: [Float] = [1, 1, 1]
        adam.step(parameters: &p, gradients: [4, -0.5, 0], gradientScale: 1, learningRate: 0.01)
        XCTAssertEqual(p[0], 0.99, accuracy: 1e-6)
        XCTAssertEqual(p[1], 1.01, accuracy: 1e-6)
        XCTAssertEqual(p[2], 1, accuracy: 1e-9)
    }

    func testSecondStepWithBiasCorrection() {
        // g1 = 1, g2 = 3 (after scale 0.5 of 2 and 6).
        // m2 = 0.9 * 0.1 + 0.1 * 3 = 0.39; v2 = 0.999 * 0.001 + 0.001 * 9 = 0.009999
        // mhat = 0.39 / 0.19 = 2.0526316; vhat = 0.009999 / 0.001999 = 5.0020010; sqrt = 2.2365150
        // p2 = p1 - 0.1 * 2.0526316 / 2.2365150 = (1 - 0.1) - 0.0917782 = 0.8082218
        let adam = Adam(parameterCount: 1)
        var p: [Float] = [1]
        adam.step(parameters: &p, gradients: [2], gradientScale: 0.5, learningRate: 0.1)
        adam.step(parameters: &p, gradients: [6], gradientScale: 0.5, learningRate: 0.1)
        XCTAssertEqual(p[0], 0.8082218, accuracy: 1e-5)
        XCTAssertEqual(adam.stepCount, 2)
    }

    func testAdamWDecaysTheWeightOutsideTheMoments() {
        // Zero gradient: Adam with L2 moves by lr * sign(wd * p) = 0.1; AdamW only shrinks: p (1 - lr wd).
        let adamw = Adam(parameterCount: 1, weightDecay: 0.5, decoupled: true)
        var p: [Float] = [2]
        adamw.step(parameters: &p, gradients: [0], gradientScale: 1, learningRate: 0.1)
        XCTAssertEqual(p[0], 2 * (1 - 0.05), accuracy: 1e-6)

        let adam = Adam(parameterCount: 1, weightDecay: 0.5)
        var q: [Float] = [2]
        adam.step(parameters: &q, gradients: [0], gradientScale: 1, learningRate: 0.1)
        XCTAssertEqual(q[0], 1.9, accuracy: 1e-6)
    }

    func testEightAtATimeGivesTheBitsOfTheFormulaOneAtATime() {
        // 45 parameters in three segments (decayed 5..<30): vector chunks and scalar tails in each,
        // three steps, Adam (L2) and AdamW, against the header's formula written here in Float.
        var rng = SplitMix64(seed: 9)
        for decoupled in [false, true] {
            let (count, decayed, wd, lr, scale): (Int, Range<Int>, Float, Float, Float) = (45, 5..<30, 0.01, 0.003, 0.25)
            let adam = Adam(parameterCount: count, weightDecay: wd, decoupled: decoupled, decayed: [decayed])
            var p = (0..<count).map { _ in rng.uniform(-1, 1) }
            var (q, m, v) = (p, [Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
            for t in 1...3 {
                let g = (0..<count).map { _ in rng.uniform(-2, 2) }
                adam.step(parameters: &p, gradients: g, gradientScale: scale, learningRate: lr)
                let (c1, c2) = (1 - Float(pow(Double(Float(0.9)), Double(t))), 1 - Float(pow(Double(Float(0.999)), Double(t))))
                for i in 0..<count {
                    let decay: Float = decayed.contains(i) ? wd : 0
                    let (l2, shrink): (Float, Float) = decoupled ? (0, 1 - lr * decay) : (decay, 1)
                    let gi = scale * g[i] + l2 * q[i]
                    m[i] = 0.9 * m[i] + (1 - 0.9) * gi
                    v[i] = 0.999 * v[i] + (1 - 0.999) * gi * gi
                    q[i] = shrink * q[i] - lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
                }
                XCTAssertEqual(p, q, "step \(t), decoupled \(decoupled)")
            }
        }
    }
}
