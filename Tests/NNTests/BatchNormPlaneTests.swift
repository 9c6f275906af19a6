// BatchNorm's plane passes (CConv's batch_norm.h) at every vector width this CPU runs (AVX-512,
// AVX2, and the SSE baseline forced as width 4) against the definition in double precision: plane
// sizes with and without a vector tail, ghost groups with a short last group, the fused ReLU, a
// probe on running statistics, and dx added to what the buffer held (the layer contract); the
// moments that ride the allreduce, also for values far from zero.
@testable import NN
import Tensor
import XCTest

final class BatchNormPlaneTests: XCTestCase {
    /// y, d(scale), d(shift) and dx of one training or probe pass, in double precision from the
    /// definition: per ghost group and channel, x-hat = (x - mean) / sqrt(var + eps) with the group's
    /// biased moments (a probe: the running ones), y = relu?(scale x-hat + shift); dy' = dy where the
    /// layer's own y > 0 (its mask, so a value at the kink cannot split the two), and
    /// dx = scale inv / m (m dy' - sum dy' - x-hat sum dy' x-hat), or scale inv dy' in a probe.
    struct Expected { var y: [Double], scaleGradient: [Double], shiftGradient: [Double], dx: [Double] }

    func reference(x: [Float], dy: [Float], layerOutput: [Float], batch: Int, channels c: Int, spatial s: Int, ghost: Int,
                   scale: [Float], shift: [Float], running: (mean: [Float], variance: [Float])?, relu: Bool) -> Expected {
        var e = Expected(y: .init(repeating: 0, count: x.count), scaleGradient: .init(repeating: 0, count: c),
                         shiftGradient: .init(repeating: 0, count: c), dx: .init(repeating: 0, count: x.count))
        let group = running == nil ? ghost : batch
        for first in stride(from: 0, to: batch, by: group) {
            let samples = first..<min(first + group, batch)
            for channel in 0..<c {
                let indices = samples.flatMap { n in (0..<s).map { (n * c + channel) * s + $0 } }
                let m = Double(indices.count)
                let mean = running.map { Double($0.mean[channel]) } ?? indices.map { Double(x[$0]) }.reduce(0, +) / m
                let variance = running.map { Double($0.variance[channel]) }
                    ?? indices.map { (Double(x[$0]) - mean) * (Double(x[$0]) - mean) }.reduce(0, +) / m
                let inv = 1 / (variance + 1e-5).squareRoot()
                let (gamma, beta) = (Double(scale[channel]), Double(shift[channel]))
                var (sumGradient, sumProduct) = (0.0, 0.0)
                for i in indices {
                    let xhat = (Double(x[i]) - mean) * inv
                    let v = gamma * xhat + beta
                    e.y[i] = relu ? max(v, 0) : v
                    let g = relu && layerOutput[i] <= 0 ? 0 : Double(dy[i])
                    sumGradient += g
                    sumProduct += g * xhat
                }
                e.scaleGradient[channel] += sumProduct
                e.shiftGradient[channel] += sumGradient
                for i in indices {
                    let xhat = (Double(x[i]) - mean) * inv
                    let g = relu && layerOutput[i] <= 0 ? 0 : Double(dy[i])
                    e.dx[i] = running == nil ? gamma * inv / m * (m * g - sumGradient - xhat * sumProduct) : gamma * inv * g
                }
            }
        }
        return e
    }

    func testPlanePassesAtEveryWidthMatchTheDefinition() {
        addTeardownBlock { DirectKernels.force(width: 0) }
        // (shape, batch, ghost): a dense layer (S = 1), planes of 7 x 7 and 5 x 5 (vector tails at
        // every width), 4 x 4 (whole vectors at 8 and 16... and 4), 28 x 28 (resnet8's first planes).
        let cases: [([Int], Int, Int)] = [([5], 7, 3), ([3, 7, 7], 5, 2), ([2, 5, 5], 6, 4), ([3, 4, 4], 4, 4), ([2, 28, 28], 3, 2)]
        var rng = SplitMix64(seed: 41)
        for width in DirectKernels.availableWidths + [4] {
            DirectKernels.force(width: width)
            for (shape, batch, ghost) in cases {
                for relu in [false, true] {
                    for probe in [false, true] {
                        check(shape: shape, batch: batch, ghost: ghost, relu: relu, probe: probe, &rng,
                              label: "width \(width) shape \(shape) batch \(batch) ghost \(ghost) relu \(relu) probe \(probe)")
                    }
                }
            }
        }
    }

    func testMomentsKeepTheirDigitsFarFromZero() {
        // Values of mean 1000 and spread 1: sums of x^2 about zero would lose the variance to
        // rounding (1e6 in floats carries about 0.06); about a shift near the mean they keep it.
        addTeardownBlock { DirectKernels.force(width: 0) }
        var rng = SplitMix64(seed: 43)
        for width in DirectKernels.availableWidths + [4] {
            DirectKernels.force(width: width)
            check(shape: [3, 6, 6], batch: 6, ghost: 3, relu: false, probe: false, &rng, offset: 1000, label: "width \(width), mean 1000")
        }
    }

    func check(shape: [Int], batch: Int, ghost: Int, relu: Bool, probe: Bool, _ rng: inout SplitMix64, offset: Float = 3, label: String) {
        let bn = BatchNorm(shape: shape, activation: relu ? .relu : .none)
        let (c, s) = (bn.channels, bn.spatial)
        bn.reserve(batch: batch, trainingBatch: batch)
        let params = FloatBuffer(count: 2 * c), grads = FloatBuffer(count: 2 * c)
        let state = FloatBuffer(count: 2 * c), moments = FloatBuffer(count: 2 * c)
        bn.bind(LayerBinding(parameters: params.pointer, gradients: grads.pointer, state: state.pointer, moments: moments.pointer))
        bn.initialize(&rng)
        for k in 0..<c {
            (params[k], params[c + k]) = (rng.uniform(0.5, 2), rng.uniform(-0.5, 0.5))
            (state[k], state[c + k]) = (3 + rng.uniform(-0.5, 0.5), rng.uniform(0.5, 2))
        }
        let count = batch * c * s
        // Offset inputs (mean 3, as the running means): the variance is taken about the mean, not about zero.
        let x = (0..<count).map { _ in offset + rng.uniform(-2, 2) }
        let dy = (0..<count).map { _ in rng.uniform(-1, 1) }
        let held = (0..<count).map { _ in rng.uniform(-1, 1) }
        let context = probe ? PassContext(mode: .probe) : PassContext(mode: .training, ghostBatch: ghost)
        var y = [Float](repeating: 0, count: count), dx = held
        bn.forward(x, into: &y, batch: batch, context: context)
        bn.backward(input: x, output: y, outputGradient: dy, inputGradient: &dx, batch: batch, context: context)
        let e = reference(x: x, dy: dy, layerOutput: y, batch: batch, channels: c, spatial: s, ghost: ghost,
                          scale: Array(params.array[0..<c]), shift: Array(params.array[c...]),
                          running: probe ? (Array(state.array[0..<c]), Array(state.array[c...])) : nil, relu: relu)
        func worst(_ a: [Float], _ b: [Double]) -> Double { zip(a, b).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0 }
        // x - mean carries x's own rounding, about |x| 6e-8, times 1 / std.
        XCTAssertLessThan(worst(y, e.y), 1e-5 + 2e-7 * Double(offset), "\(label): y")
        XCTAssertLessThan(worst(Array(grads.array[0..<c]), e.scaleGradient), 1e-4, "\(label): d scale")
        XCTAssertLessThan(worst(Array(grads.array[c...]), e.shiftGradient), 1e-4, "\(label): d shift")
        XCTAssertLessThan(worst(zip(dx, held).map { $0 - $1 }, e.dx), 1e-4, "\(label): dx added to what dx held")
        if relu { XCTAssertTrue(y.contains(0) && y.contains { $0 > 0 }, "\(label): the ReLU cuts some values and passes others") }
        guard !probe else { return }
        // The moments that ride the allreduce: per channel the sum of x, and the groups' sums of squared deviations.
        for channel in 0..<c {
            var (sum, squares) = (0.0, 0.0)
            for first in stride(from: 0, to: batch, by: ghost) {
                let values = (first..<min(first + ghost, batch)).flatMap { n in (0..<s).map { Double(x[(n * c + channel) * s + $0]) } }
                let mean = values.reduce(0, +) / Double(values.count)
                sum += values.reduce(0, +)
                squares += values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
            }
            XCTAssertEqual(Double(moments[channel]), sum, accuracy: 1e-5 * max(1, abs(sum)), "\(label): sum of x, channel \(channel)")
            XCTAssertEqual(Double(moments[c + channel]), squares, accuracy: 1e-4 * squares, "\(label): sum of squared deviations, channel \(channel)")
        }
    }
}
