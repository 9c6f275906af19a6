// Conv2D against the naive direct convolution, and finite-difference checks of Conv2D (several
// shapes, strides, paddings) and MaxPool, each through the summed softmax cross-entropy.
@testable import NN
import Tensor
import XCTest

final class ConvolutionTests: XCTestCase {
    struct Case {
        let channels: Int, height: Int, width: Int, filters: Int, kernel: Int, stride: Int, same: Bool
        var geometry: ConvGeometry {
            ConvGeometry(channels: channels, height: height, width: width, kernel: kernel, stride: stride, same: same)
        }
    }

    let cases = [
        Case(channels: 1, height: 6, width: 6, filters: 3, kernel: 3, stride: 1, same: false),
        Case(channels: 2, height: 7, width: 5, filters: 4, kernel: 3, stride: 2, same: false),
        Case(channels: 2, height: 5, width: 6, filters: 2, kernel: 3, stride: 1, same: true),
        Case(channels: 3, height: 7, width: 7, filters: 2, kernel: 2, stride: 2, same: true),
        Case(channels: 1, height: 8, width: 8, filters: 2, kernel: 5, stride: 2, same: true),
        // A kernel larger than the image: whole taps fall outside it, and every line wraps.
        Case(channels: 2, height: 2, width: 4, filters: 2, kernel: 7, stride: 1, same: true),
    ]

    func testGeometryMatchesTensorFlowPaddingRules() {
        let same = ConvGeometry(channels: 1, height: 28, width: 28, kernel: 3, stride: 2, same: true)
        XCTAssertEqual([same.outHeight, same.outWidth, same.padTop, same.padLeft], [14, 14, 0, 0])
        let same1 = ConvGeometry(channels: 1, height: 28, width: 28, kernel: 3, stride: 1, same: true)
        XCTAssertEqual([same1.outHeight, same1.padTop], [28, 1])
        let valid = ConvGeometry(channels: 1, height: 28, width: 28, kernel: 3, stride: 1, same: false)
        XCTAssertEqual([valid.outHeight, valid.outWidth], [26, 26])
    }

    func testForwardMatchesDirectConvolution() {
        var rng = SplitMix64(seed: 21)
        for c in cases {
            let g = c.geometry
            let layer = Conv2D(geometry: g, filters: c.filters, activation: .none)
            let p = FloatBuffer(count: layer.parameterCount), grads = FloatBuffer(count: layer.parameterCount)
            layer.bind(LayerBinding(parameters: p.pointer, gradients: grads.pointer, state: p.pointer, moments: grads.pointer))
            for i in 0..<p.count { p[i] = rng.uniform(-1, 1) }
            let batch = 2
            let x = (0..<(batch * layer.inputSize)).map { _ in rng.uniform(-1, 1) }
            var y = [Float](repeating: 0, count: batch * layer.outputSize)
            layer.forward(x, into: &y, batch: batch, context: PassContext(mode: .training))
            let weights = Array(p.array.prefix(c.filters * g.patchSize)), bias = Array(p.array.suffix(c.filters))
            for n in 0..<batch {
                let sample = Array(x[(n * layer.inputSize)..<((n + 1) * layer.inputSize)])
                let expected = Conv2D.referenceForward(x: sample, weight: weights, bias: bias, filters: c.filters, geometry: g)
                let got = y[(n * layer.outputSize)..<((n + 1) * layer.outputSize)]
                XCTAssertLessThan(zip(got, expected).map { abs($0 - $1) }.max()!, 1e-5, "\(c)")
            }
        }
    }

    func testOneSampleChunksMatchTheReference() {
        // Keskar's C1 second convolution (64 channels, 5 x 5 on 13 x 13) on the im2col path (its
        // forward pass would otherwise take the direct kernels): a chunk holds one sample, whose
        // product is written straight into y and whose dy is read in place. Forward, dW and dx
        // against the naive twins, without and with bias and the fused ReLU (which masks dy).
        var rng = SplitMix64(seed: 41)
        let g = ConvGeometry(channels: 64, height: 13, width: 13, kernel: 5, stride: 1, same: true)
        for (bias, activation) in [(false, Dense.Activation.none), (true, .relu)] {
            let layer = checkAgainstTwins(g, filters: 3, activation: activation, bias: bias, directKernels: false, &rng,
                                          tolerance: 1e-4, label: "bias \(bias)")
            XCTAssertFalse(layer.isDirect)
            XCTAssertEqual(layer.chunk, 1, "the case must have one-sample chunks")
        }
    }

    func testBatchesLargerThanAChunkMatchTheReferenceAndPerSamplePasses() {
        // Chunks of 4 (stride 1) and 18 (stride 2) samples with a short last chunk: forward against
        // the direct convolution, backward against the sum of one-sample passes (checked above by
        // finite differences), with the fused ReLU and a bias.
        var rng = SplitMix64(seed: 31)
        for (stride, batch) in [(1, 9), (2, 20)] {
            let g = ConvGeometry(channels: 16, height: 28, width: 28, kernel: 3, stride: stride, same: true)
            // im2col + sgemm: stride 1 would otherwise take the direct kernels (DirectConvolutionTests).
            let layer = Conv2D(geometry: g, filters: 4, activation: .relu, directKernels: false)
            XCTAssertFalse(layer.isDirect)
            XCTAssertLessThan(layer.chunk, batch, "the case must span several chunks")
            XCTAssertNotEqual(batch % layer.chunk, 0, "and end with a short one")
            let p = FloatBuffer(count: layer.parameterCount), grads = FloatBuffer(count: layer.parameterCount)
            layer.bind(LayerBinding(parameters: p.pointer, gradients: grads.pointer, state: p.pointer, moments: grads.pointer))
            for i in 0..<p.count { p[i] = rng.uniform(-0.3, 0.3) }
            let (inSize, outSize) = (layer.inputSize, layer.outputSize)
            let x = (0..<(batch * inSize)).map { _ in rng.uniform(-1, 1) }
            let dy = (0..<(batch * outSize)).map { _ in rng.uniform(-1, 1) }
            var y = [Float](repeating: 0, count: batch * outSize)
            layer.forward(x, into: &y, batch: batch, context: PassContext(mode: .training))
            let weights = Array(p.array.prefix(4 * g.patchSize)), bias = Array(p.array.suffix(4))
            var worst: Float = 0
            for n in 0..<batch {
                let expected = Conv2D.referenceForward(x: Array(x[(n * inSize)..<((n + 1) * inSize)]), weight: weights, bias: bias,
                                                       filters: 4, geometry: g).map { max($0, 0) }
                worst = max(worst, zip(y[(n * outSize)..<((n + 1) * outSize)], expected).map { abs($0 - $1) }.max()!)
            }
            XCTAssertLessThan(worst, 1e-4, "forward, stride \(stride)")
            var dx = [Float](repeating: 0.5, count: batch * inSize)
            layer.backward(input: x, output: y, outputGradient: dy, inputGradient: &dx, batch: batch, context: PassContext(mode: .training))
            let batched = grads.array
            grads.zero()
            var single = [Float](repeating: 0.5, count: batch * inSize)
            for n in 0..<batch {
                let (xs, ys, dys) = (Array(x[(n * inSize)..<((n + 1) * inSize)]), Array(y[(n * outSize)..<((n + 1) * outSize)]),
                                     Array(dy[(n * outSize)..<((n + 1) * outSize)]))
                var dxs = Array(single[(n * inSize)..<((n + 1) * inSize)])
                layer.backward(input: xs, output: ys, outputGradient: dys, inputGradient: &dxs, batch: 1, context: PassContext(mode: .training))
                single.replaceSubrange((n * inSize)..<((n + 1) * inSize), with: dxs)
            }
            XCTAssertLessThan(zip(batched, grads.array).map { abs($0 - $1) / max(1, abs($1)) }.max()!, 1e-4, "dW and db, stride \(stride)")
            XCTAssertLessThan(zip(dx, single).map { abs($0 - $1) }.max()!, 1e-5, "dx (added onto 0.5), stride \(stride)")
        }
    }

    /// A model [Dense, Conv2D, optional MaxPool, Dense] whose parameter gradients are checked.
    func gradientError(_ c: Case, activation: Dense.Activation = .relu, pool: (size: Int, stride: Int)?, seed: UInt64) -> (worst: Double, inputWorst: Double) {
        var layers: [Layer] = [Conv2D(geometry: c.geometry, filters: c.filters, activation: activation)]
        var shape = (c.filters, c.geometry.outHeight, c.geometry.outWidth)
        if let pool {
            let p = MaxPool(channels: shape.0, height: shape.1, width: shape.2, size: pool.size, stride: pool.stride)
            layers.append(p)
            shape = (shape.0, p.outHeight, p.outWidth)
        }
        layers.append(Dense(inputSize: shape.0 * shape.1 * shape.2, outputSize: 3, activation: .none))
        // A linear first layer in front lets us check the conv's input gradient too.
        layers.insert(Dense(inputSize: 4, outputSize: layers[0].inputSize, activation: .none), at: 0)
        let model = Model(layers: layers)
        let batch = 3
        model.reserve(batch: batch)
        let params = FloatBuffer(count: model.layout.count), grads = FloatBuffer(count: model.layout.count)
        model.bind(parameters: params.pointer, gradients: grads.pointer)
        model.initialize(seed: seed)
        var rng = SplitMix64(seed: seed + 7)
        for i in 0..<params.count { params[i] += rng.uniform(-0.05, 0.05) }
        let x = (0..<(batch * 4)).map { _ in rng.uniform(-1, 1) }
        let labels = (0..<batch).map { _ in Int32(rng.below(3)) }
        func loss(_ gradient: Bool) -> Double {
            model.input.update(from: x, count: x.count)
            let logits = model.forward(batch: batch, context: PassContext(mode: .training))
            return SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels, batch: batch, classes: 3,
                                                gradient: gradient ? model.outputGradient : nil).loss
        }
        grads.zero()
        _ = loss(true)
        model.backward(batch: batch, context: PassContext(mode: .training))
        let analytic = grads.array
        var worst = 0.0, inputWorst = 0.0
        let firstConvOffset = model.layout.slices[2].offset    // after the leading Dense's weight and bias
        let h: Float = 2e-3
        for i in 0..<analytic.count {
            let saved = params[i]
            params[i] = saved + h; let up = loss(false)
            params[i] = saved - h; let down = loss(false)
            params[i] = saved
            let numeric = (up - down) / Double(2 * h)
            let error = abs(numeric - Double(analytic[i])) / max(1, abs(numeric))
            if i < firstConvOffset { inputWorst = max(inputWorst, error) } else { worst = max(worst, error) }
        }
        return (worst, inputWorst)
    }

    func testConv2DGradientsMatchFiniteDifferences() {
        for (i, c) in cases.enumerated() {
            let (worst, inputWorst) = gradientError(c, pool: nil, seed: UInt64(i + 1))
            XCTAssertLessThan(worst, 1e-2, "conv weights \(c)")
            XCTAssertLessThan(inputWorst, 1e-2, "conv input gradient (through the leading Dense) \(c)")
        }
    }

    func testMaxPoolGradientsMatchFiniteDifferences() {
        let c = Case(channels: 1, height: 6, width: 7, filters: 2, kernel: 3, stride: 1, same: true)
        // Behind a linear conv: ReLU zeros would tie inside windows, where max has no derivative.
        let (worst, inputWorst) = gradientError(c, activation: .none, pool: (2, 2), seed: 5)
        XCTAssertLessThan(worst, 1e-2)
        XCTAssertLessThan(inputWorst, 1e-2)
    }

    func testOverlappingMaxPoolGradientsMatchFiniteDifferences() {
        // Keskar's C1 pools 3 x 3 with stride 2: windows share pixels, whose gradients add.
        let c = Case(channels: 1, height: 7, width: 7, filters: 2, kernel: 3, stride: 1, same: true)
        let (worst, inputWorst) = gradientError(c, activation: .none, pool: (3, 2), seed: 6)
        XCTAssertLessThan(worst, 1e-2)
        XCTAssertLessThan(inputWorst, 1e-2)
    }

    func testMaxPoolPicksTheMaximumAndRoutesTheGradientToIt() {
        let pool = MaxPool(channels: 1, height: 2, width: 4, size: 2)
        pool.reserve(batch: 1, trainingBatch: 1)
        let x: [Float] = [1, 5, -1, -3,
                          2, 0, -2, -4]
        var y = [Float](repeating: 0, count: 2)
        pool.forward(x, into: &y, batch: 1, context: .evaluation)
        XCTAssertEqual(y, [5, -1])
        let dy: [Float] = [10, 20]
        var dx = [Float](repeating: 7, count: 8)
        pool.backward(input: x, output: y, outputGradient: dy, inputGradient: &dx, batch: 1, context: .evaluation)
        XCTAssertEqual(dx, [7, 17, 27, 7, 7, 7, 7, 7], "backward adds into dx")
    }

    /// Every window and stride against a naive reference, on small integers so windows hold ties:
    /// the maximum, and its gradient routed to the first maximal pixel in row order.
    func testMaxPoolMatchesANaiveReferenceWithTies() {
        var rng = SplitMix64(seed: 21)
        addTeardownBlock { DirectKernels.force(width: 0) }
        // 2 x 2 and 3 x 3 stride 2 (CConv's max_pool.h at every width, 4 being SSE): rows of 3, 13 and
        // 16 outputs (2 x 2: scalar, vector chunks with an overlapping last one), 3 x 3 rows of 3 to
        // 20 outputs (whole and partial vectors), odd heights and widths.
        for vectorWidth in DirectKernels.availableWidths + [4] {
            DirectKernels.force(width: vectorWidth)
            for (size, stride, height, width) in [(3, 2, 13, 13), (3, 2, 8, 9), (3, 2, 9, 41), (3, 2, 28, 28), (2, 2, 7, 6),
                                                  (2, 2, 26, 26), (2, 2, 5, 33), (2, 1, 5, 6), (3, 1, 6, 5), (4, 3, 11, 10)] {
                let (channels, batch) = (3, 2)
                let pool = MaxPool(channels: channels, height: height, width: width, size: size, stride: stride)
                pool.reserve(batch: batch, trainingBatch: batch)
                let x = (0..<(batch * pool.inputSize)).map { _ in Float(rng.below(4)) }
                var y = [Float](repeating: 0, count: batch * pool.outputSize)
                pool.forward(x, into: &y, batch: batch, context: .evaluation)
                let dy = (0..<y.count).map { Float($0 + 1) }
                var dx = [Float](repeating: 0, count: x.count)
                pool.backward(input: x, output: y, outputGradient: dy, inputGradient: &dx, batch: batch, context: .evaluation)
                var (expectedY, expectedDx) = ([Float](), [Float](repeating: 0, count: x.count))
                var winners: [Int] = []
                for plane in 0..<(batch * channels) {
                    for oy in 0..<pool.outHeight {
                        for ox in 0..<pool.outWidth {
                            var best = -1
                            for i in 0..<size {
                                for j in 0..<size {
                                    let index = plane * height * width + (oy * stride + i) * width + ox * stride + j
                                    if best < 0 || x[index] > x[best] { best = index }
                                }
                            }
                            expectedDx[best] += dy[expectedY.count]
                            expectedY.append(x[best])
                            winners.append(best)
                        }
                    }
                }
                let label = "\(size)x\(size) stride \(stride) on \(height)x\(width), vector width \(vectorWidth)"
                XCTAssertEqual(y, expectedY, "forward, \(label)")
                XCTAssertEqual(dx, expectedDx, "backward, \(label)")
                // One sample at a time (ConvPoolPair's path), written over whatever the buffer held,
                // unmasked and masked by the pool's output (a window whose maximum is 0 passes nothing).
                var masked = [Float](repeating: 0, count: x.count)
                for (o, winner) in winners.enumerated() where y[o] > 0 { masked[winner] += dy[o] }
                for n in 0..<batch {
                    for (mask, expected) in [(false, expectedDx), (true, masked)] {
                        var target = [Float](repeating: 7, count: pool.inputSize)
                        y.withUnsafeBufferPointer { output in
                            pool.backward(sample: n, outputGradient: dy, maskedBy: mask ? output.baseAddress! : nil, layout: pool.dense,
                                          into: &target)
                        }
                        XCTAssertEqual(target, Array(expected[(n * pool.inputSize)..<((n + 1) * pool.inputSize)]),
                                       "sample \(n) alone, masked \(mask), \(label)")
                    }
                }
                guard pool.readsAnyLayout else { continue }
                // The 2 x 2 kernels on planes in a wider layout (a convolution's grid: 3 floats past
                // each row, 5 past each plane), adding a bias per channel and the ReLU as they read:
                // forward as the dense pool of relu(x + bias) (the store's operations), backward's
                // gradient at the same pixels and zeros in every padding float.
                let layout = MaxPool.PlaneLayout(rowStride: width + 3, planeStride: height * (width + 3) + 5)
                let bias = (0..<channels).map { Float($0) - 1.5 }
                for n in 0..<batch {
                    var grid = [Float](repeating: .nan, count: channels * layout.planeStride)
                    var stored = [Float](repeating: 0, count: pool.inputSize)
                    for c in 0..<channels {
                        for i in 0..<height {
                            for j in 0..<width {
                                let value = x[n * pool.inputSize + (c * height + i) * width + j]
                                grid[c * layout.planeStride + i * layout.rowStride + j] = value
                                let biased = value + bias[c]
                                stored[(c * height + i) * width + j] = biased < 0 ? 0 : biased
                            }
                        }
                    }
                    var fromGrid = [Float](repeating: -1, count: batch * pool.outputSize)
                    var fromStored = fromGrid
                    bias.withUnsafeBufferPointer { pool.forward(sample: n, grid, layout: layout, bias: $0.baseAddress!, relu: true, into: &fromGrid) }
                    let gridWinners = pool.argmaxForTests(sample: n)
                    pool.forward(sample: n, stored, layout: pool.dense, into: &fromStored)
                    XCTAssertEqual(fromGrid, fromStored, "forward from a wide layout with bias and ReLU, sample \(n), \(label)")
                    XCTAssertEqual(gridWinners, pool.argmaxForTests(sample: n), "the same winners, sample \(n), \(label)")
                    var dense = [Float](repeating: 7, count: pool.inputSize)
                    var wide = [Float](repeating: 7, count: channels * layout.planeStride)
                    fromStored.withUnsafeBufferPointer { output in
                        pool.backward(sample: n, outputGradient: dy, maskedBy: output.baseAddress!, layout: pool.dense, into: &dense)
                        pool.backward(sample: n, outputGradient: dy, maskedBy: output.baseAddress!, layout: layout, into: &wide)
                    }
                    var expectedWide = [Float](repeating: 0, count: wide.count)
                    for c in 0..<channels {
                        for i in 0..<height {
                            for j in 0..<width { expectedWide[c * layout.planeStride + i * layout.rowStride + j] = dense[(c * height + i) * width + j] }
                        }
                    }
                    XCTAssertEqual(wide, expectedWide, "backward into a wide layout, padding zeroed, sample \(n), \(label)")
                    XCTAssertTrue(dense.contains { $0 != 0 }, "some gradient passes, sample \(n), \(label)")
                }
            }
        }
    }

    func testAStrideBeyondThePlaneGivesOneOutputWithoutOverflow() {
        // `same`'s ceil(H / S) and the inside columns' ceil divide once computed H + S - 1, which
        // trapped for a stride near Int.max (a spec such as conv8k3s9223372036854775807same).
        for stride in [28, 29, 1000, Int.max] {
            let g = ConvGeometry(channels: 1, height: 28, width: 27, kernel: 3, stride: stride, same: true)
            XCTAssertEqual([g.outHeight, g.outWidth, g.padTop, g.padLeft], [1, 1, 0, 0], "stride \(stride)")
            XCTAssertEqual((0..<3).map { g.insideColumns($0).lo }, [0, 0, 0], "stride \(stride)")
            XCTAssertEqual((0..<3).map { g.insideColumns($0).hi }, [1, 1, 1], "stride \(stride)")
        }
        let padded = ConvGeometry(channels: 1, height: 2, width: 2, kernel: 5, stride: Int.max, same: true)
        XCTAssertEqual([padded.outHeight, padded.padTop, padded.padLeft], [1, 1, 1])
        XCTAssertEqual((0..<5).map { padded.insideColumns($0).lo }, [1, 0, 0, 0, 0], "a tap left of the image sees padding only")
    }

    func testModelSpecParsesBuildsAndRejects() throws {
        let specs = try ModelSpec.parse("conv32k3-pool2-conv64k3s2same-flatten-fc128-fc10")
        XCTAssertEqual(specs, [.conv(filters: 32, kernel: 3, stride: 1, same: false), .pool(size: 2, stride: 2),
                               .conv(filters: 64, kernel: 3, stride: 2, same: true), .flatten, .dense(128), .dense(10)])
        let model = try ModelSpec.build(specs, channels: 1, height: 28, width: 28, classes: 10)
        // 28 -conv3-> 26 -pool2-> 13 -conv3 s2 same-> 7: 64 * 7 * 7 = 3136 into fc128.
        XCTAssertEqual((model.root as! Sequential).layers[3].inputSize, 3136)
        XCTAssertEqual(model.layout.count, (32 * 9 + 32) + (64 * 32 * 9 + 64) + (3136 * 128 + 128) + (128 * 10 + 10))
        XCTAssertEqual(ModelSpec.describe(try ModelSpec.parse("cnn")), "conv32k3-pool2-flatten-fc10")
        let cnn = try ModelSpec.build(try ModelSpec.parse("cnn"), channels: 1, height: 28, width: 28, classes: 10)
        XCTAssertEqual(cnn.layout.count, 32 * 9 + 32 + 5408 * 10 + 10)

        XCTAssertThrowsError(try ModelSpec.parse("conv32k3-bogus-fc10")) {
            XCTAssertTrue("\($0)".contains("unknown model spec token 'bogus'"), "\($0)")
        }
        XCTAssertThrowsError(try ModelSpec.build(try ModelSpec.parse("fc128-fc5"), channels: 1, height: 28, width: 28, classes: 10)) {
            XCTAssertTrue("\($0)".contains("must end with fc10"), "\($0)")
        }
        XCTAssertThrowsError(try ModelSpec.build(try ModelSpec.parse("conv8k9-fc10"), channels: 1, height: 4, width: 4, classes: 10))
        // After flatten no planes are left: a conv, pool, residual block or gap there is refused (it
        // was built as if flatten were not there).
        for (spec, named) in [("conv8k3-flatten-conv8k3-fc10", "conv8k3"), ("flatten-pool2-fc10", "pool2"),
                              ("conv8k3-flatten-res8-fc10", "res8"), ("flatten-fc32-gap-fc10", "gap")] {
            XCTAssertThrowsError(try ModelSpec.build(try ModelSpec.parse(spec), channels: 1, height: 8, width: 8, classes: 10), spec) {
                XCTAssertEqual("\($0)", "\(named) needs planes, and flatten before it leaves none", spec)
            }
        }
        XCTAssertNoThrow(try ModelSpec.build(try ModelSpec.parse("conv8k3-flatten-fc32-bn-drop0.5-fc10"), channels: 1, height: 8, width: 8, classes: 10))
    }
}
