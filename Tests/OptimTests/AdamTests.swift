// Adam and AdamW against steps worked by hand.
import Optim
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
}
