// A convolution and its max-pool run together, sample by sample (ConvPoolPair), against the same
// two layers run apart: the logits, every parameter gradient and the input gradient that reaches
// the layer before them must be the same bits, at every vector width, for a 2 x 2 pool (read from
// the convolution's grid, its gradient written onto dW's grid when the pair is the network's first
// layer) and an overlapping 3 x 3 stride-2 one, with and without the ReLU and the bias, first in the
// network or after a layer, in a batch larger than one.
@testable import NN
import Tensor
import XCTest

final class ConvPoolTests: XCTestCase {
    struct Pass: Equatable { var logits: [Float], gradients: [Float] }

    /// [Dense 4 -> C H W, conv, pool, Dense -> 3] on `batch` samples: the leading Dense's gradients
    /// carry the pair's input gradient; without it (`leading` false) the pair is first and computes
    /// no input gradient.
    func pass(geometry g: ConvGeometry, filters: Int, relu: Bool, bias: Bool = true, pool size: Int, stride: Int, batch: Int,
              leading: Bool = true, fused: Bool, label: String) -> Pass {
        let saved = ConvPoolPair.enabled
        ConvPoolPair.enabled = fused
        defer { ConvPoolPair.enabled = saved }
        let conv = Conv2D(geometry: g, filters: filters, activation: relu ? .relu : .none, bias: bias)
        XCTAssertTrue(conv.isDirect, "\(label): the convolution runs the direct kernels")
        let pool = MaxPool(channels: filters, height: g.outHeight, width: g.outWidth, size: size, stride: stride)
        let head: [Layer] = leading ? [Dense(inputSize: 4, outputSize: conv.inputSize, activation: .none)] : []
        let chain = Sequential(layers: head + [conv, pool, Dense(inputSize: pool.outputSize, outputSize: 3, activation: .none)])
        XCTAssertEqual(chain.fusedPairs, fused ? 1 : 0, "\(label): the pair is found only when fusing")
        let bound = BoundModel(Model(root: chain), batch: batch, seed: 3)
        let (model, params, grads) = (bound.model, bound.parameters, bound.gradients)
        var rng = SplitMix64(seed: 17)
        // Biases away from zero so the ReLU cuts some outputs and passes others.
        for i in 0..<params.count { params[i] += rng.uniform(-0.2, 0.2) }
        let x = (0..<(batch * (leading ? 4 : conv.inputSize))).map { _ in rng.uniform(-1, 1) }
        let labels = (0..<batch).map { _ in Int32(rng.below(3)) }
        model.input.update(from: x, count: x.count)
        let context = PassContext(mode: .training)
        let logits = model.forward(batch: batch, context: context)
        _ = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels, batch: batch, classes: 3, gradient: model.outputGradient)
        grads.zero()
        model.backward(batch: batch, context: context)
        return Pass(logits: Array(UnsafeBufferPointer(start: logits, count: batch * 3)), gradients: grads.array)
    }

    func testAPairRunTogetherGivesTheSameBitsAsItsLayersApart() {
        addTeardownBlock { DirectKernels.force(width: 0) }
        let cases: [(ConvGeometry, Int, Int)] = [
            (ConvGeometry(channels: 2, height: 16, width: 16, kernel: 3, stride: 1, same: true), 2, 2),    // 16 x 16 -> 8 x 8
            (ConvGeometry(channels: 1, height: 20, width: 20, kernel: 3, stride: 1, same: false), 3, 2),   // 18 x 18, overlapping windows
            (ConvGeometry(channels: 3, height: 24, width: 24, kernel: 5, stride: 1, same: true), 2, 2),    // 5 x 5 taps, 24 x 24 -> 12 x 12
            (ConvGeometry(channels: 1, height: 27, width: 27, kernel: 3, stride: 1, same: false), 2, 2),   // 25 x 25: a row and column no window covers
            (ConvGeometry(channels: 4, height: 12, width: 12, kernel: 3, stride: 1, same: true), 2, 2),    // dW with filters in the lanes
        ]
        for width in DirectKernels.availableWidths {
            DirectKernels.force(width: width)
            for (geometry, size, stride) in cases {
                for (relu, bias, leading) in [(true, true, true), (false, true, true), (true, true, false), (false, false, false), (true, false, true)] {
                    let label = "width \(width), \(geometry.channels) x \(geometry.height) x \(geometry.width) k\(geometry.kernel), pool \(size)/\(stride), "
                        + "relu \(relu), bias \(bias), first \(!leading)"
                    let together = pass(geometry: geometry, filters: 5, relu: relu, bias: bias, pool: size, stride: stride, batch: 3,
                                        leading: leading, fused: true, label: label)
                    let apart = pass(geometry: geometry, filters: 5, relu: relu, bias: bias, pool: size, stride: stride, batch: 3,
                                     leading: leading, fused: false, label: label)
                    XCTAssertEqual(together.logits, apart.logits, "\(label): logits")
                    XCTAssertEqual(together.gradients, apart.gradients, "\(label): every gradient, the leading Dense's included")
                    XCTAssertTrue(apart.gradients.contains { $0 != 0 }, "\(label): the gradients are not all zero")
                }
            }
        }
    }
}
