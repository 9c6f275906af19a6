// The overwriting backward pass (Layer's `overwritingInputGradient`): whatever dx held before
// (NaN here), it ends as the adding pass's dx onto zeros, bit for bit, with the same parameter
// gradients; and the adding pass still adds. Layers that write in one pass (BatchNorm on planes and
// on features, Winograd's Conv2D, the direct one where its passes cover every pixel, Residual,
// Sequential with a convolution-and-pool pair and inner buffers) and ones that clear and add (a
// 1 x 1 stride-2 Conv2D, im2col, Dense, MaxPool).
@testable import NN
import Tensor
import XCTest

final class OverwritingGradientTests: XCTestCase {
    func check(_ layer: Layer, batch: Int, ghostBatch: Int = .max, mode: PassMode = .training, seed: UInt64, _ label: String) {
        let bound = BoundModel(Model(layers: [layer]), batch: batch, seed: seed)
        let (params, grads) = (bound.parameters, bound.gradients)
        var rng = SplitMix64(seed: seed + 1)
        for i in 0..<params.count { params[i] += rng.uniform(-0.1, 0.1) }
        let context = PassContext(mode: mode, ghostBatch: ghostBatch)
        let x = (0..<(batch * layer.inputSize)).map { _ in rng.uniform(-1, 1) }
        let dy = (0..<(batch * layer.outputSize)).map { _ in rng.uniform(-1, 1) }
        var y = [Float](repeating: 0, count: batch * layer.outputSize)
        layer.forward(x, into: &y, batch: batch, context: context)

        grads.zero()
        var added = [Float](repeating: 0, count: batch * layer.inputSize)
        layer.backward(input: x, output: y, outputGradient: dy, inputGradient: &added, batch: batch, context: context)
        let addedGradients = grads.array
        XCTAssertGreaterThan(added.map { abs($0) }.max()!, 1e-4, "\(label): dx is not all zero")

        grads.zero()
        var written = [Float](repeating: .nan, count: batch * layer.inputSize)
        layer.backward(input: x, output: y, outputGradient: dy, overwritingInputGradient: &written, batch: batch, context: context)
        XCTAssertEqual(written, added, "\(label): dx written over NaN equals dx added onto zeros")
        XCTAssertEqual(grads.array, addedGradients, "\(label): the parameter gradients")

        var onto = [Float](repeating: 0.5, count: batch * layer.inputSize)
        layer.backward(input: x, output: y, outputGradient: dy, inputGradient: &onto, batch: batch, context: context)
        XCTAssertLessThan(zip(onto, added).map { abs($0 - 0.5 - $1) }.max()!, 1e-6, "\(label): the adding pass still adds")
    }

    /// Says which pass it was asked for.
    final class Recorder: InputGradientWriter {
        var asked: [Bool] = []
        var inputShape: [Int] { [2] }
        var outputShape: [Int] { [2] }
        func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {}
        func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                      inputGradient dx: UnsafeMutablePointer<Float>?, overwrite: Bool, batch: Int, context: PassContext) {
            asked.append(overwrite)
        }
    }

    func testAWriterIsAskedForTheWritingPassThroughTheLayerProtocol() {
        // Its own pass, not Layer's default (clear, then add): the same numbers, so only this tells.
        let recorder = Recorder()
        let layer: Layer = recorder
        var (x, dx) = ([Float](repeating: 1, count: 2), [Float](repeating: 0, count: 2))
        layer.backward(input: x, output: x, outputGradient: x, overwritingInputGradient: &dx, batch: 1, context: PassContext(mode: .training))
        layer.backward(input: x, output: x, outputGradient: x, inputGradient: &dx, batch: 1, context: PassContext(mode: .training))
        let first = Recorder()
        let chain = Sequential(layers: [first, recorder])
        chain.reserve(batch: 1, trainingBatch: 1)
        x = [1, 1]
        chain.backward(input: x, output: x, outputGradient: x, inputGradient: &dx, batch: 1, context: PassContext(mode: .training))
        XCTAssertEqual(recorder.asked, [true, false, true], "writing, adding, and writing a chain's inner gradient")
        XCTAssertEqual(first.asked, [false], "the chain's first child adds into the chain's dx")
    }

    func testBatchNormWritesItsInputGradient() {
        check(BatchNorm(shape: [3, 5, 5], activation: .relu), batch: 5, ghostBatch: 2, seed: 1, "BatchNorm on planes, ghost groups")
        check(BatchNorm(shape: [7]), batch: 6, ghostBatch: 4, seed: 2, "BatchNorm on features")
        // The sharpness probe differentiates the model as evaluation computes it (running statistics).
        check(BatchNorm(shape: [3, 5, 5], activation: .relu), batch: 4, mode: .probe, seed: 12, "BatchNorm on planes, a probe")
        check(BatchNorm(shape: [7]), batch: 4, mode: .probe, seed: 13, "BatchNorm on features, a probe")
    }

    func testConvolutionsWriteOrClearTheirInputGradient() throws {
        let winograd = Conv2D(geometry: ConvGeometry(channels: 16, height: 8, width: 8, kernel: 3, stride: 1, same: true),
                              filters: 16, activation: .relu)
        if DirectKernels.availableWidths.isEmpty {
            XCTAssertFalse(winograd.isWinograd)
        } else {
            XCTAssertTrue(winograd.isWinograd)
        }
        check(winograd, batch: 3, seed: 3, "a 16-channel 3 x 3 convolution")
        let strided = Conv2D(geometry: ConvGeometry(channels: 4, height: 16, width: 16, kernel: 3, stride: 2, same: true), filters: 8,
                             activation: .none)
        let projection = Conv2D(geometry: ConvGeometry(channels: 4, height: 16, width: 16, kernel: 1, stride: 2, same: true), filters: 8,
                                activation: .none)
        let direct = Conv2D(geometry: ConvGeometry(channels: 4, height: 10, width: 10, kernel: 3, stride: 1, same: true), filters: 8,
                            activation: .relu)
        if !DirectKernels.availableWidths.isEmpty {
            XCTAssertEqual(strided.direct?.writesWholeInputGradient, true, "four phases write every pixel")
            XCTAssertEqual(projection.direct?.writesWholeInputGradient, false, "a 1 x 1 kernel's one phase does not")
            XCTAssertEqual(direct.direct?.writesWholeInputGradient, true)
        }
        check(strided, batch: 3, seed: 4, "a stride-2 3 x 3 convolution (its four phases write)")
        check(projection, batch: 3, seed: 9, "a stride-2 1 x 1 convolution (clears, then adds)")
        check(direct, batch: 2, seed: 10, "a stride-1 direct convolution (writes)")
        let pointwise = Conv2D(geometry: ConvGeometry(channels: 4, height: 8, width: 16, kernel: 1, stride: 1, same: true), filters: 6,
                               activation: .none)
        if !DirectKernels.availableWidths.isEmpty { XCTAssertEqual(pointwise.direct?.pointwise, true) }
        check(pointwise, batch: 2, seed: 14, "a stride-1 1 x 1 convolution (one product a sample, written)")
        check(Conv2D(geometry: ConvGeometry(channels: 3, height: 6, width: 6, kernel: 3, stride: 1, same: true), filters: 4,
                     activation: .none, directKernels: false), batch: 2, seed: 11, "im2col (clears, then adds)")
        check(Dense(inputSize: 6, outputSize: 5, activation: .relu), batch: 4, seed: 5, "Dense (clears, then adds)")
    }

    func testBlocksWriteTheirInputGradientThroughTheirFirstLayer() {
        func body(_ c: Int, _ f: Int, _ stride: Int, _ size: Int) -> Sequential {
            let out = size / stride
            return Sequential(layers: [Conv2D(geometry: ConvGeometry(channels: c, height: size, width: size, kernel: 3, stride: stride, same: true),
                                              filters: f, activation: .none),
                                       BatchNorm(shape: [f, out, out], activation: .relu),
                                       Conv2D(geometry: ConvGeometry(channels: f, height: out, width: out, kernel: 3, stride: 1, same: true),
                                              filters: f, activation: .none),
                                       BatchNorm(shape: [f, out, out])])
        }
        check(Residual(body: body(16, 16, 1, 8), shortcut: nil), batch: 3, seed: 6, "an identity block")
        // resnet's down-sampling block: a stride-2 3 x 3 body (direct, four phases) and a 1 x 1 projection.
        let projection = Sequential(layers: [Conv2D(geometry: ConvGeometry(channels: 16, height: 16, width: 16, kernel: 1, stride: 2, same: true),
                                                    filters: 32, activation: .none),
                                             BatchNorm(shape: [32, 8, 8])])
        check(Residual(body: body(16, 32, 2, 16), shortcut: projection), batch: 3, seed: 7, "a projection block")
        let pooled = Sequential(layers: [Conv2D(geometry: ConvGeometry(channels: 2, height: 8, width: 8, kernel: 3, stride: 1, same: true),
                                                filters: 8, activation: .relu),
                                         MaxPool(channels: 8, height: 8, width: 8, size: 2),
                                         BatchNorm(shape: [8, 4, 4])])
        XCTAssertEqual(pooled.fusedPairs, ConvPoolPair.enabled && !DirectKernels.availableWidths.isEmpty ? 1 : 0)
        check(pooled, batch: 3, seed: 8, "a chain that starts with a convolution-and-pool pair")
    }
}
