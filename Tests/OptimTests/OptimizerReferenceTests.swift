// Three steps of every optimizer against an independent float64 computation (numpy, written from
// the PyTorch definitions of SGD, Adam and AdamW and the papers' LARS and LAMB, with biases taking
// no decay and no trust ratio): a varying rate, gradient sums at scale 1/4, a weight and a bias.
// The constants are numpy's, from these formulas in float64 (bias: wd 0, local rate and ratio 1):
//   sgd: d = g + wd p; buf = 0.9 buf + d (buf = d at step 1); p -= lr (nesterov ? d + 0.9 buf : buf)
//   adam: g += wd p | adamw: p *= 1 - lr wd; m, v; p -= lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   lars: local = eta |w| / (|g| + wd |w|); v = 0.9 v + lr local (g + wd w); w -= v
//   lamb: r = m-hat / (sqrt(v-hat) + eps) + wd w; w -= lr (|w| / |r|) r
import Optim
import XCTest

final class OptimizerReferenceTests: XCTestCase {
    let start: [Float] = [0.5, -1.25, 2.0, 0.75, -0.3, 1.5, 0.2, -0.1]
    let sums: [[Float]] = [[1.0, -2.0, 0.5, 3.0, -1.5, 0.25, 2.0, -4.0],
                           [-0.5, 1.5, 2.5, -1.0, 0.75, -2.0, 1.0, 0.5],
                           [2.0, 0.5, -1.0, 1.25, 3.0, -0.75, -1.5, 2.5]]
    let rates: [Float] = [0.1, 0.05, 0.2]
    /// A weight tensor of 6 and a bias of 2.
    let segments = [ParameterSegment(range: 0..<6, isWeight: true), ParameterSegment(range: 6..<8, isWeight: false)]

    func threeSteps(_ kind: OptimizerKind, nesterov: Bool = false, epsilon: Double = 1e-8) -> [Float] {
        var settings = OptimizerKind.Settings()
        settings.weightDecay = 0.01
        settings.trustCoefficient = 0.02
        settings.nesterov = nesterov
        settings.epsilon = epsilon
        let optimizer = kind.make(segments: segments, settings)
        var p = start
        for (g, lr) in zip(sums, rates) { optimizer.step(parameters: &p, gradients: g, gradientScale: 0.25, learningRate: lr) }
        return p
    }

    func testEveryOptimizerMatchesTheFloat64Reference() {
        let expected: [(String, [Float], [Double])] = [
            ("sgd", threeSteps(.sgd), [0.348435574, -1.1987677, 1.85327489, 0.509592074, -0.375967072, 1.62224929, 0.064, 0.05325]),
            ("nesterov", threeSteps(.sgd, nesterov: true),
             [0.243287876, -1.19362669, 1.86750205, 0.406620569, -0.489483904, 1.66096234, 0.0901, 0.006675]),
            ("adam", threeSteps(.adam),
             [0.252595097, -1.14933291, 1.77126403, 0.523102608, -0.276963484, 1.56568198, 0.00496208657, 0.0364434049]),
            ("adamw", threeSteps(.adamw),
             [0.25358912, -1.15295696, 1.7730463, 0.523117217, -0.277377091, 1.56722955, 0.00496208657, 0.0364434049]),
            ("lars", threeSteps(.lars),
             [0.491077354, -1.24552361, 1.99668229, 0.736195729, -0.303737265, 1.5035537, 0.11575, 0.034125]),
            ("lamb", threeSteps(.lamb, epsilon: 1e-6),
             [0.0695980438, -1.13791871, 1.61012714, 0.360792956, -0.344391046, 1.73944208, 0.0049625247, 0.0364432548]),
        ]
        for (name, actual, reference) in expected {
            XCTAssertEqual(actual.count, reference.count)
            for (a, r) in zip(actual, reference) {
                XCTAssertEqual(Double(a), r, accuracy: 2e-6 * max(1, abs(r)), "\(name): \(actual) vs \(reference)")
            }
        }
    }
}
