// The direct convolution kernels (DirectConvolution, CConv) against the naive twins of
// Conv2D+Reference, at every vector width this CPU runs (AVX-512 and AVX2 on an AVX-512 machine):
// forward, dW, db and dx, with and without bias and the fused ReLU, filter and channel counts that
// are not multiples of the 8-filter blocks, 3 x 3 and 5 x 5 kernels; against the im2col path on a
// resnet layer; and a batch split into micro-batches giving the same bits as the whole batch.
// Winograd's passes, which would take the 16-channel stride-1 layers, are off while these run.
@testable import NN
import Tensor
import XCTest

final class DirectConvolutionTests: XCTestCase {
    private var winogradWasEnabled = true

    override func setUp() {
        winogradWasEnabled = WinogradConvolution.enabled
        WinogradConvolution.enabled = false
    }

    override func tearDown() {
        WinogradConvolution.enabled = winogradWasEnabled
    }

    func testPhaseSplitMatchesItsDefinitionAtEveryVectorWidth() throws {
        // conv_direct.h's phases, value by value, and nothing written past the last plane: rows of
        // one partial vector and of two pairs of vectors, one phase (a 1 x 1 kernel) or four.
        for width in try vectorKernelWidths() {
            DirectKernels.force(width: width)
            var rng = SplitMix64(seed: UInt64(5 + width))
            for (channels, height, planeWidth, rowWidth, planeStride) in [(3, 6, 10, 6, 23), (2, 4, 68, 35, 80), (5, 2, 2, 1, 1)] {
                let x = (0..<(channels * height * planeWidth)).map { _ in rng.uniform(-1, 1) }
                for phases in [1, 4] {
                    let size = channels * phases * planeStride
                    var out = [Float](repeating: 7, count: size + 40)
                    DirectConvolution.splitPhases(x, channels: channels, height: height, width: planeWidth, phases: phases,
                                                  rowWidth: rowWidth, planeStride: planeStride, into: &out)
                    var expected = [Float](repeating: 0, count: size) + [Float](repeating: 7, count: 40)
                    for c in 0..<channels {
                        for p in 0..<phases {
                            for i in 0..<(height / 2) {
                                for j in 0..<(planeWidth / 2) {
                                    expected[(c * phases + p) * planeStride + i * rowWidth + j] =
                                        x[(c * height + 2 * i + p / 2) * planeWidth + 2 * j + p % 2]
                                }
                            }
                        }
                    }
                    XCTAssertEqual(out, expected, "width \(width), \(channels) x \(height) x \(planeWidth), \(phases) phases")
                }
            }
        }
    }

    struct Case {
        let channels: Int, height: Int, width: Int, filters: Int, kernel: Int
        var stride = 1, same = true
        let bias: Bool, activation: Dense.Activation
        var geometry: ConvGeometry {
            ConvGeometry(channels: channels, height: height, width: width, kernel: kernel, stride: stride, same: same)
        }
    }

    // Planes wide enough for the kernels (DirectConvolution.init's 85% and 70% rules) at widths 8 and 16:
    // stride-1 `same` and `valid`, stride-2 `same` (phase planes) with 3 x 3 and 1 x 1 kernels.
    let cases = [
        Case(channels: 16, height: 5, width: 28, filters: 16, kernel: 3, bias: true, activation: .relu),
        Case(channels: 3, height: 4, width: 24, filters: 10, kernel: 3, bias: false, activation: .none),
        Case(channels: 2, height: 4, width: 28, filters: 9, kernel: 5, bias: true, activation: .relu),
        Case(channels: 1, height: 28, width: 28, filters: 16, kernel: 3, bias: false, activation: .none),
        Case(channels: 3, height: 6, width: 28, filters: 8, kernel: 3, same: false, bias: true, activation: .relu),
        Case(channels: 2, height: 12, width: 40, filters: 5, kernel: 5, same: false, bias: false, activation: .none),
        Case(channels: 5, height: 8, width: 28, filters: 12, kernel: 3, stride: 2, bias: true, activation: .relu),
        Case(channels: 16, height: 8, width: 28, filters: 32, kernel: 3, stride: 2, bias: false, activation: .none),
        Case(channels: 4, height: 8, width: 28, filters: 8, kernel: 1, stride: 2, bias: false, activation: .none),
        Case(channels: 6, height: 8, width: 28, filters: 10, kernel: 1, bias: true, activation: .none),
        Case(channels: 7, height: 6, width: 16, filters: 12, kernel: 1, bias: true, activation: .relu),
        // Small planes: dW with filters in the lanes (DirectConvolution.weightGradientByFilters),
        // at stride 1 and 2.
        Case(channels: 8, height: 7, width: 7, filters: 16, kernel: 3, bias: true, activation: .relu),
        Case(channels: 4, height: 13, width: 13, filters: 8, kernel: 5, bias: false, activation: .none),
        Case(channels: 6, height: 14, width: 14, filters: 20, kernel: 3, stride: 2, bias: true, activation: .relu),
        Case(channels: 5, height: 14, width: 14, filters: 70, kernel: 1, stride: 2, bias: false, activation: .none),
    ]

    func testPointwiseKernelsTakeOneProductASample() throws {
        // 1 x 1 kernels whose input planes hold the output pixels contiguously (stride 1, and stride
        // 2's phase (0, 0)) run forward and dx as products (DirectConvolution.pointwise); the twins
        // check their numbers (the cases above), this which layers take them.
        guard !DirectKernels.availableWidths.isEmpty else { throw XCTSkip("no AVX2 with FMA: the direct kernels are not used") }
        for (kernel, stride, filters, pointwise) in [(1, 2, 32, true), (1, 1, 10, true), (1, 2, 70, true), (3, 2, 32, false), (3, 1, 16, false)] {
            let g = ConvGeometry(channels: 16, height: 14, width: 14, kernel: kernel, stride: stride, same: true)
            let direct = try XCTUnwrap(DirectConvolution(geometry: g, filters: filters), "\(kernel) x \(kernel) / \(stride)")
            XCTAssertEqual(direct.pointwise, pointwise, "\(kernel) x \(kernel) / \(stride), \(filters) filters")
        }
    }

    func testChannelPlanesAreNotAWholeNumberOfPagesApart() throws {
        // A tile reads the same pixel of every channel: planes a multiple of 4 KB apart put those
        // reads in one L1 set (resnet8's stride-2 layers had channels exactly 4 KB apart). Stride 1
        // and 2, 1 x 1 to 5 x 5, the planes of x, of dy on the grid and of dy padded for dx.
        guard !DirectKernels.availableWidths.isEmpty else { throw XCTSkip("no AVX2 with FMA: the direct kernels are not used") }
        let page = 4096 / MemoryLayout<Float>.size
        for (channels, size, kernel, stride) in [(16, 28, 3, 2), (32, 14, 3, 2), (16, 28, 1, 2), (32, 14, 1, 2), (1, 28, 3, 1), (8, 32, 3, 1),
                                                 (64, 28, 5, 1), (16, 64, 3, 2), (8, 16, 3, 1)] {
            let g = ConvGeometry(channels: channels, height: size, width: size, kernel: kernel, stride: stride, same: true)
            let direct = try XCTUnwrap(DirectConvolution(geometry: g, filters: 32), "\(channels) x \(size) x \(size), \(kernel) x \(kernel) / \(stride)")
            let label = "\(channels) x \(size) x \(size), \(kernel) x \(kernel) / \(stride)"
            XCTAssertNotEqual(direct.inputChannelStride % page, 0, "x's channels: \(label)")
            XCTAssertNotEqual(direct.gradientGrid.planeStride % page, 0, "dy on the grid: \(label)")
            XCTAssertNotEqual(direct.gradientPadded.planeStride % page, 0, "dy padded: \(label)")
        }
    }

    func testPassesMatchTheNaiveTwinsAtEveryVectorWidth() throws {
        for width in try vectorKernelWidths() {
            DirectKernels.force(width: width)
            var rng = SplitMix64(seed: UInt64(60 + width))
            for c in cases {
                let label = "width \(width), \(c)"
                XCTAssertTrue(checkAgainstTwins(c.geometry, filters: c.filters, activation: c.activation, bias: c.bias, &rng, tolerance: 1e-5,
                                                label: label).isDirect, "the case must take the direct kernels: \(label)")
            }
        }
    }

    func testEveryGeometryMatchesTheNaiveTwinsWhicheverPathItTakes() throws {
        // Kernels 1-5, strides 1 and 2, `same` and `valid`, odd and even sizes: whether a layer takes
        // the direct kernels (all passes or forward only) or im2col, its passes match the twins.
        // A wrong applicability rule (an even `same` kernel, an odd plane at stride 2) shows here.
        _ = try vectorKernelWidths()
        var rng = SplitMix64(seed: 5)
        var direct = 0, total = 0
        for kernel in 1...5 {
            for stride in 1...2 {
                for same in [true, false] {
                    for (height, width) in [(7, 7), (8, 28), (13, 13), (14, 14), (12, 40)] where same || kernel <= height {
                        let c = Case(channels: 3, height: height, width: width, filters: 9, kernel: kernel, stride: stride, same: same,
                                     bias: true, activation: .relu)
                        direct += checkAgainstTwins(c.geometry, filters: c.filters, activation: c.activation, bias: c.bias, &rng, tolerance: 1e-4,
                                                    label: "\(c)").isDirect ? 1 : 0
                        total += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(direct, 10, "of \(total) geometries, the direct kernels took too few for the sweep to test them")
        XCTAssertLessThan(direct, total, "and im2col some")
    }

    func testResnetLayerAgreesWithTheIm2colPath() throws {
        // resnet8's 16 x 28 x 28 layer: the two paths sum in different orders, so they agree to
        // rounding, not bit for bit (dW sums 5 x 784 terms per entry: 2e-5 relative seen).
        for width in try vectorKernelWidths() {
            DirectKernels.force(width: width)
            let g = ConvGeometry(channels: 16, height: 28, width: 28, kernel: 3, stride: 1, same: true)
            let direct = Conv2D(geometry: g, filters: 16, activation: .none, bias: false)
            let im2col = Conv2D(geometry: g, filters: 16, activation: .none, bias: false, directKernels: false)
            XCTAssertTrue(direct.isDirect)
            XCTAssertFalse(im2col.isDirect)
            var rng = SplitMix64(seed: 77)
            let (p, grads) = boundConvolution(direct, &rng)
            let gradsIm2col = FloatBuffer(count: im2col.parameterCount)
            im2col.bind(LayerBinding(parameters: p.pointer, gradients: gradsIm2col.pointer, state: p.pointer, moments: gradsIm2col.pointer))
            let batch = 5
            let x = (0..<(batch * direct.inputSize)).map { _ in rng.uniform(-1, 1) }
            let dy = (0..<(batch * direct.outputSize)).map { _ in rng.uniform(-1, 1) }
            var (y1, y2) = ([Float](repeating: 0, count: dy.count), [Float](repeating: 0, count: dy.count))
            direct.forward(x, into: &y1, batch: batch, context: PassContext(mode: .training))
            im2col.forward(x, into: &y2, batch: batch, context: PassContext(mode: .training))
            var (dx1, dx2) = ([Float](repeating: 0, count: x.count), [Float](repeating: 0, count: x.count))
            direct.backward(input: x, output: y1, outputGradient: dy, inputGradient: &dx1, batch: batch, context: PassContext(mode: .training))
            im2col.backward(input: x, output: y2, outputGradient: dy, inputGradient: &dx2, batch: batch, context: PassContext(mode: .training))
            XCTAssertLessThan(zip(y1, y2).map { abs($0 - $1) }.max()!, 1e-5, "forward, width \(width)")
            XCTAssertLessThan(zip(dx1, dx2).map { abs($0 - $1) }.max()!, 1e-5, "dx, width \(width)")
            XCTAssertLessThan(zip(grads.array, gradsIm2col.array).map { abs($0 - $1) / max(1, abs($1)) }.max()!, 1e-4, "dW, width \(width)")
        }
    }

    func testMicroBatchesGiveTheWholeBatchsBits() throws {
        // dW adds sample after sample (each sample's lanes reduced in a fixed order, or with filters
        // in the lanes one sum per lane), so 6 samples in one pass and in passes of 2 and 4 give
        // identical parameters' gradients, outputs and dx.
        for width in try vectorKernelWidths() {
            DirectKernels.force(width: width)
            for (g, byFilters) in [(ConvGeometry(channels: 8, height: 14, width: 28, kernel: 3, stride: 1, same: true), false),
                                   (ConvGeometry(channels: 8, height: 7, width: 7, kernel: 3, stride: 1, same: true), true)] {
                let layer = Conv2D(geometry: g, filters: 16, activation: .relu, bias: true)
                XCTAssertEqual(layer.direct?.weightGradientByFilters, byFilters)
                var rng = SplitMix64(seed: 91)
                let (parameters, grads) = boundConvolution(layer, &rng)
                defer { withExtendedLifetime(parameters) {} }   // the layer reads its weights from it
                let (inSize, outSize) = (layer.inputSize, layer.outputSize)
                let x = (0..<(6 * inSize)).map { _ in rng.uniform(-1, 1) }
                let dy = (0..<(6 * outSize)).map { _ in rng.uniform(-1, 1) }
                var whole = [Float](repeating: 0, count: dy.count)
                layer.forward(x, into: &whole, batch: 6, context: PassContext(mode: .training))
                var dxWhole = [Float](repeating: 0, count: x.count)
                layer.backward(input: x, output: whole, outputGradient: dy, inputGradient: &dxWhole, batch: 6, context: PassContext(mode: .training))
                let gradientsWhole = grads.array
                grads.zero()
                var parts = [Float](), dxParts = [Float]()
                for (first, count) in [(0, 2), (2, 4)] {
                    let xs = Array(x[(first * inSize)..<((first + count) * inSize)])
                    let dys = Array(dy[(first * outSize)..<((first + count) * outSize)])
                    var ys = [Float](repeating: 0, count: dys.count), dxs = [Float](repeating: 0, count: xs.count)
                    layer.forward(xs, into: &ys, batch: count, context: PassContext(mode: .training))
                    layer.backward(input: xs, output: ys, outputGradient: dys, inputGradient: &dxs, batch: count, context: PassContext(mode: .training))
                    parts += ys
                    dxParts += dxs
                }
                // Counts of differing entries (0 each), not the arrays: a failure names how many.
                let label = "width \(width), \(g.height) x \(g.width)"
                XCTAssertEqual(zip(parts, whole).filter { $0 != $1 }.count, 0, "forward, \(label)")
                XCTAssertEqual(zip(dxParts, dxWhole).filter { $0 != $1 }.count, 0, "dx, \(label)")
                XCTAssertEqual(zip(grads.array, gradientsWhole).filter { $0 != $1 }.count, 0, "dW and db, \(label)")
                XCTAssertTrue(gradientsWhole.contains { $0 != 0 }, "some gradient, \(label)")
            }
        }
    }

    func testWeightGradientByFiltersGivesTheSameBitsAtEveryWidth() throws {
        // With filters in the lanes every dW entry is one sum over the pixels in order, whatever the
        // vector width or how many filter vectors a tile holds: AVX-512 and AVX2 agree bit for bit,
        // for filter counts that fill 1-5 vectors and a tail, at stride 1 and 2.
        let widths = try vectorKernelWidths()
        guard widths.count > 1 else { throw XCTSkip("one vector width on this CPU: nothing to compare") }
        for (g, filters) in [(ConvGeometry(channels: 3, height: 7, width: 7, kernel: 3, stride: 1, same: true), 70),
                             (ConvGeometry(channels: 7, height: 10, width: 10, kernel: 3, stride: 2, same: true), 20),
                             (ConvGeometry(channels: 2, height: 13, width: 13, kernel: 5, stride: 1, same: true), 9)] {
            var results: [[Float]] = []
            for width in widths {
                DirectKernels.force(width: width)
                let layer = Conv2D(geometry: g, filters: filters, activation: .relu, bias: true)
                XCTAssertEqual(layer.direct?.weightGradientByFilters, true, "\(g)")
                var rng = SplitMix64(seed: 8)
                let (parameters, grads) = boundConvolution(layer, &rng)
                defer { withExtendedLifetime(parameters) {} }
                let x = (0..<(3 * layer.inputSize)).map { _ in rng.uniform(-1, 1) }
                let dy = (0..<(3 * layer.outputSize)).map { _ in rng.uniform(-1, 1) }
                var y = [Float](repeating: 0, count: dy.count)
                layer.forward(x, into: &y, batch: 3, context: PassContext(mode: .training))
                layer.backward(input: x, output: y, outputGradient: dy, inputGradient: nil, batch: 3, context: PassContext(mode: .training))
                results.append(grads.array)
            }
            XCTAssertEqual(zip(results[0], results[1]).filter { $0 != $1 }.count, 0, "dW and db at widths \(widths), \(g), \(filters) filters")
            XCTAssertTrue(results[0].contains { $0 != 0 })
        }
    }

    func testForwardWithOutputsInTheLanesGivesTheGridsBits() throws {
        // The same sums in the same order (inputs, then taps) as the grid, for the output pixels
        // only: 64 and 70 filters (a vector tail) on 7 x 7 and 13 x 13 planes, stride 1 and 2, bias
        // and ReLU on and off, at every width.
        addTeardownBlock { DirectConvolution.outputsInLanes = true }
        for width in try vectorKernelWidths() {
            DirectKernels.force(width: width)
            for (g, filters, relu) in [(ConvGeometry(channels: 5, height: 7, width: 7, kernel: 3, stride: 1, same: true), 64, true),
                                       (ConvGeometry(channels: 3, height: 13, width: 13, kernel: 5, stride: 1, same: true), 70, false),
                                       (ConvGeometry(channels: 4, height: 14, width: 14, kernel: 3, stride: 2, same: true), 70, true)] {
                var outputs: [[Float]] = []
                for lanes in [true, false] {
                    DirectConvolution.outputsInLanes = lanes
                    let layer = Conv2D(geometry: g, filters: filters, activation: relu ? .relu : .none, bias: relu)
                    let label = "width \(width), \(g), \(filters) filters, outputs in the lanes \(lanes)"
                    if width == 16 || g.stride == 1 { XCTAssertEqual(layer.direct?.forwardByOutputs, lanes, label) }
                    var rng = SplitMix64(seed: 12)
                    let (parameters, _) = boundConvolution(layer, &rng)
                    defer { withExtendedLifetime(parameters) {} }
                    let x = (0..<(2 * layer.inputSize)).map { _ in rng.uniform(-1, 1) }
                    var y = [Float](repeating: .nan, count: 2 * layer.outputSize)
                    layer.forward(x, into: &y, batch: 2, context: PassContext(mode: .training))
                    outputs.append(y)
                }
                XCTAssertEqual(zip(outputs[0], outputs[1]).filter { $0.bitPattern != $1.bitPattern }.count, 0, "width \(width), \(g)")
                XCTAssertTrue(outputs[0].contains { $0 != 0 } && !outputs[0].contains { $0.isNaN })
            }
        }
    }
}
