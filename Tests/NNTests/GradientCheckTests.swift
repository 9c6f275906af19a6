// Finite-difference checks: the analytic gradients of each layer and of the loss must match
// (L(w + h) - L(w - h)) / 2h of the summed loss, in Float with h = 2e-3 (relative error < 1e-2).
import NN
import Tensor
import XCTest

final class GradientCheckTests: XCTestCase {
    /// Loss sum of `model` on a fixed batch, and its analytic parameter and input gradients.
    struct Problem {
        let model: Model
        let parameters: FloatBuffer
        let gradients: FloatBuffer
        let inputs: [Float]
        let labels: [Int32]
        let batch: Int

        init(hidden: [Int], inputSize: Int = 6, classes: Int = 4, batch: Int = 5, seed: UInt64 = 1) {
            model = try! ModelSpec.mlp(inputSize: inputSize, hidden: hidden, classes: classes)
            model.reserve(batch: batch)
            parameters = FloatBuffer(count: model.layout.count)
            gradients = FloatBuffer(count: model.layout.count)
            model.bind(parameters: parameters.pointer, gradients: gradients.pointer)
            model.initialize(seed: seed)
            var rng = SplitMix64(seed: seed + 100)
            // Biases off zero so ReLU kinks are not hit exactly.
            for i in 0..<parameters.count { parameters[i] += rng.uniform(-0.1, 0.1) }
            inputs = (0..<(batch * inputSize)).map { _ in rng.uniform(-1, 1) }
            labels = (0..<batch).map { _ in Int32(rng.below(classes)) }
            self.batch = batch
        }

        func loss(gradient: Bool) -> Double {
            model.input.update(from: inputs, count: inputs.count)
            let logits = model.forward(batch: batch, context: PassContext(mode: .training))
            return labels.withUnsafeBufferPointer { l in
                SoftmaxCrossEntropy.evaluate(logits: logits, labels: l.baseAddress!, batch: batch,
                                             classes: model.outputSize, gradient: gradient ? model.outputGradient : nil).loss
            }
        }

        func analyticGradients() -> [Float] {
            gradients.zero()
            _ = loss(gradient: true)
            model.backward(batch: batch, context: PassContext(mode: .training))
            return gradients.array
        }

        func numericGradient(at index: Int, h: Float = 2e-3) -> Double {
            let saved = parameters[index]
            parameters[index] = saved + h
            let up = loss(gradient: false)
            parameters[index] = saved - h
            let down = loss(gradient: false)
            parameters[index] = saved
            return (up - down) / Double(2 * h)
        }
    }

    func assertGradientsMatch(_ problem: Problem, file: StaticString = #filePath, line: UInt = #line) {
        let analytic = problem.analyticGradients()
        var worst = 0.0
        for i in 0..<analytic.count {
            let numeric = problem.numericGradient(at: i)
            let error = abs(numeric - Double(analytic[i])) / max(1, abs(numeric))
            worst = max(worst, error)
        }
        XCTAssertLessThan(worst, 1e-2, "worst relative gradient error", file: file, line: line)
        XCTAssertGreaterThan(analytic.map { abs($0) }.max()!, 1e-3, "gradients are not all zero", file: file, line: line)
    }

    func testLinearLayerWithLossMatchesFiniteDifferences() {
        assertGradientsMatch(Problem(hidden: []))
    }

    func testDenseReLUStackMatchesFiniteDifferences() {
        assertGradientsMatch(Problem(hidden: [8]))
        assertGradientsMatch(Problem(hidden: [7, 5], seed: 4))
    }

    func testInputGradientOfDenseMatchesFiniteDifferences() {
        // dx of a Dense layer: perturb one input, compare with the backward pass's dx.
        let layer = Dense(inputSize: 3, outputSize: 2, activation: .none)
        let p = FloatBuffer(count: layer.parameterCount), g = FloatBuffer(count: layer.parameterCount)
        layer.bind(LayerBinding(parameters: p.pointer, gradients: g.pointer, state: p.pointer, moments: g.pointer))
        var rng = SplitMix64(seed: 2)
        layer.initialize(&rng)
        var x: [Float] = [0.3, -0.7, 1.1]
        let upstream: [Float] = [0.5, -2]   // d(loss)/dy, so loss = upstream . y
        func loss(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: 2)
            layer.forward(x, into: &y, batch: 1, context: .evaluation)
            return zip(y, upstream).map { Double($0 * $1) }.reduce(0, +)
        }
        var y = [Float](repeating: 0, count: 2), dx = [Float](repeating: 0, count: 3)
        layer.forward(x, into: &y, batch: 1, context: .evaluation)
        layer.backward(input: x, output: y, outputGradient: upstream, inputGradient: &dx, batch: 1, context: .evaluation)
        for i in 0..<3 {
            let saved = x[i]
            x[i] = saved + 1e-2; let up = loss(x)
            x[i] = saved - 1e-2; let down = loss(x)
            x[i] = saved
            XCTAssertEqual(Double(dx[i]), (up - down) / 2e-2, accuracy: 1e-3)
        }
    }

    func testSoftmaxCrossEntropyIsStableAndExact() {
        // Two equal logits: loss log 2 per sample, gradient (0.5 - 1, 0.5); huge logits must not overflow.
        let logits: [Float] = [1000, 1000, -1000, 1000]
        let labels: [Int32] = [0, 1]
        var gradient = [Float](repeating: 0, count: 4)
        let sums = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels, batch: 2, classes: 2, gradient: &gradient)
        XCTAssertEqual(sums.loss, log(2.0), accuracy: 1e-6)
        XCTAssertEqual(sums.correct, 2)   // argmax ties go to the first class; sample 1 is clear
        XCTAssertEqual(gradient, [-0.5, 0.5, 0, 0])
    }

    func testLayoutNamesShapesAndHash() throws {
        let a = try ModelSpec.mlp(inputSize: 784, hidden: [128], classes: 10)
        XCTAssertEqual(a.layout.count, 784 * 128 + 128 + 128 * 10 + 10)
        XCTAssertEqual(a.layout.slices.map(\.name), ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"])
        XCTAssertEqual(a.layout.slices[2].offset, 784 * 128 + 128)
        let b = try ModelSpec.mlp(inputSize: 784, hidden: [64, 64], classes: 10)
        XCTAssertNotEqual(a.layout.hash, b.layout.hash)
        XCTAssertEqual(a.layout.hash, try ModelSpec.mlp(inputSize: 784, hidden: [128], classes: 10).layout.hash)
    }
}
