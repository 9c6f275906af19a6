// One check of a Conv2D against the naive twins of Conv2D+Reference, shared by ConvolutionTests
// (the im2col path) and DirectConvolutionTests (the direct kernels); and the vector widths the C
// kernels' tests run at.
@testable import NN
import Tensor
import XCTest

extension XCTestCase {
    /// The vector widths of the CPU's C kernels (AVX-512 and AVX2 where it has both), each run in
    /// turn by forcing it; the CPU's own width restored after the test. Skips without AVX2 + FMA.
    func vectorKernelWidths() throws -> [Int] {
        let widths = DirectKernels.availableWidths
        if widths.isEmpty { throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA: the C convolution kernels are not used") }
        addTeardownBlock { DirectKernels.force(width: 0) }
        return widths
    }
}

/// Binds `layer` to fresh parameter and gradient buffers, parameters uniform in (-0.3, 0.3).
func boundConvolution(_ layer: Conv2D, _ rng: inout SplitMix64) -> (parameters: FloatBuffer, gradients: FloatBuffer) {
    let p = FloatBuffer(count: layer.parameterCount), grads = FloatBuffer(count: layer.parameterCount)
    layer.bind(LayerBinding(parameters: p.pointer, gradients: grads.pointer, state: p.pointer, moments: grads.pointer))
    for i in 0..<p.count { p[i] = rng.uniform(-0.3, 0.3) }
    return (p, grads)
}

/// Builds the layer, runs forward and backward on a 3-sample batch, and checks y, dW, db and dx
/// (added onto 0.5) against the naive twins within `tolerance` (dW and db relative to
/// max(1, |value|)); the fused ReLU passes dy where its output is positive. Returns the layer,
/// so a caller can say which path it took.
@discardableResult
func checkAgainstTwins(_ g: ConvGeometry, filters: Int, activation: Dense.Activation, bias: Bool, directKernels: Bool = true,
                       _ rng: inout SplitMix64, tolerance: Float, label: String) -> Conv2D {
    let relu = activation == .relu
    let layer = Conv2D(geometry: g, filters: filters, activation: activation, bias: bias, directKernels: directKernels)
    let (p, grads) = boundConvolution(layer, &rng)
    defer { withExtendedLifetime(p) {} }   // the layer reads its weights from it
    let batch = 3, (inSize, outSize, taps) = (layer.inputSize, layer.outputSize, filters * g.patchSize)
    let x = (0..<(batch * inSize)).map { _ in rng.uniform(-1, 1) }
    let dy = (0..<(batch * outSize)).map { _ in rng.uniform(-1, 1) }
    var y = [Float](repeating: 0, count: batch * outSize)
    layer.forward(x, into: &y, batch: batch, context: PassContext(mode: .training))
    var dx = [Float](repeating: 0.5, count: batch * inSize)
    layer.backward(input: x, output: y, outputGradient: dy, inputGradient: &dx, batch: batch, context: PassContext(mode: .training))
    let weights = Array(p.array.prefix(taps))
    let biases = bias ? Array(p.array.suffix(filters)) : [Float](repeating: 0, count: filters)
    var expectedWeight = [Float](repeating: 0, count: taps), expectedBias = [Float](repeating: 0, count: filters)
    var (worstForward, worstInput): (Float, Float) = (0, 0)
    for n in 0..<batch {
        let sample = Array(x[(n * inSize)..<((n + 1) * inSize)])
        let pre = Conv2D.referenceForward(x: sample, weight: weights, bias: biases, filters: filters, geometry: g)
        let out = relu ? pre.map { max($0, 0) } : pre
        worstForward = max(worstForward, zip(y[(n * outSize)..<((n + 1) * outSize)], out).map { abs($0 - $1) }.max()!)
        let masked = zip(dy[(n * outSize)..<((n + 1) * outSize)], out).map { relu && $1 <= 0 ? 0 : $0 }
        let (dw, dxSample) = Conv2D.referenceBackward(x: sample, weight: weights, outputGradient: masked, filters: filters, geometry: g)
        for i in 0..<taps { expectedWeight[i] += dw[i] }
        for f in 0..<filters { expectedBias[f] += masked[(f * g.outPixels)..<((f + 1) * g.outPixels)].reduce(0, +) }
        worstInput = max(worstInput, zip(dx[(n * inSize)..<((n + 1) * inSize)], dxSample).map { abs($0 - 0.5 - $1) }.max()!)
    }
    let path = "\(label), direct \(layer.isDirect)"
    XCTAssertLessThan(worstForward, tolerance, "forward, \(path)")
    XCTAssertLessThan(worstInput, tolerance, "dx, \(path)")
    XCTAssertLessThan(zip(grads.array.prefix(taps), expectedWeight).map { abs($0 - $1) / max(1, abs($1)) }.max()!, tolerance, "dW, \(path)")
    if bias {
        XCTAssertLessThan(zip(grads.array.suffix(filters), expectedBias).map { abs($0 - $1) / max(1, abs($1)) }.max()!, tolerance, "db, \(path)")
    }
    return layer
}
