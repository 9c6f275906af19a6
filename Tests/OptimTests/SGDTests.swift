// SGD against steps computed by hand (PyTorch's torch.optim.SGD semantics).
import Optim
import XCTest

final class SGDTests: XCTestCase {
    func run(momentum: Float, nesterov: Bool, weightDecay: Float, steps: [[Float]], scale: Float = 1) -> [Float] {
        let sgd = SGD(parameterCount: 2, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
        var p: [Float] = [1, -2]
        for g in steps { sgd.step(parameters: &p, gradients: g, gradientScale: scale, learningRate: 0.1) }
        return p
    }

    func testPlainSGDWithGradientScale() {
        // Gradients are sums over 4 samples; scale 1/4 makes them means: p - 0.1 * [2, 1] / 4 ... twice.
        let p = run(momentum: 0, nesterov: false, weightDecay: 0, steps: [[2, 4], [2, 4]], scale: 0.25)
        XCTAssertEqual(p[0], 1 - 0.1 * 0.5 * 2, accuracy: 1e-6)
        XCTAssertEqual(p[1], -2 - 0.1 * 1 * 2, accuracy: 1e-6)
    }

    func testMomentum() {
        // v1 = g1 = 1; p1 = 1 - 0.1 = 0.9.  v2 = 0.9 * 1 + 1 = 1.9; p2 = 0.9 - 0.19 = 0.71.
        let p = run(momentum: 0.9, nesterov: false, weightDecay: 0, steps: [[1, 0], [1, 0]])
        XCTAssertEqual(p[0], 0.71, accuracy: 1e-6)
        XCTAssertEqual(p[1], -2, accuracy: 1e-6)
    }

    func testNesterov() {
        // v1 = 1, update g + mu v = 1.9 -> 0.81.  v2 = 1.9, update 1 + 0.9 * 1.9 = 2.71 -> 0.81 - 0.271 = 0.539.
        let p = run(momentum: 0.9, nesterov: true, weightDecay: 0, steps: [[1, 0], [1, 0]])
        XCTAssertEqual(p[0], 0.539, accuracy: 1e-6)
    }

    func testWeightDecayAddsToTheGradient() {
        // g = 0 + 0.5 * p: p1 = 1 - 0.1 * 0.5 = 0.95, p = -2 + 0.1 = -1.9.
        let p = run(momentum: 0, nesterov: false, weightDecay: 0.5, steps: [[0, 0]])
        XCTAssertEqual(p[0], 0.95, accuracy: 1e-6)
        XCTAssertEqual(p[1], -1.9, accuracy: 1e-6)
    }
}
