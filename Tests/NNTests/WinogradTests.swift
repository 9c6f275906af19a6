// Winograd's convolution (WinogradConvolution, winograd.h): the F(m, r) matrices reproduce a
// correlation exactly as built, and the layer's passes match the naive twins of Conv2D+Reference
// (forward, dW, db, dx added onto what dx held) on 3 x 3 and 5 x 5 kernels, `same` and `valid`,
// channel and filter counts that are not whole vectors, planes that are not whole tiles; a batch
// larger than one chunk gives each sample what it gets alone. The transforms hold F(4, 3)'s and
// F(4, 5)'s matrices as constants equal to WinogradMatrices', and run any other matrices as given.
import CConv
@testable import NN
import Tensor
import XCTest

final class WinogradTests: XCTestCase {
    func testMatricesComputeTheCorrelationForEveryTileAndKernelUsed() {
        // y_i = sum_k g_k d_(i+k), i < m, as A^T [(G g) (.) (B^T d)], in Double from the Float matrices.
        var rng = SplitMix64(seed: 11)
        for (m, r) in [(4, 3), (4, 5), (2, 3), (2, 5), (6, 3), (3, 2), (1, 1)] {
            let w = WinogradMatrices(m: m, r: r), alpha = m + r - 1
            XCTAssertEqual(w.alpha, alpha)
            for _ in 0..<5 {
                let g = (0..<r).map { _ in Double(rng.uniform(-1, 1)) }, d = (0..<alpha).map { _ in Double(rng.uniform(-1, 1)) }
                let kernel = (0..<alpha).map { j in (0..<r).reduce(0.0) { $0 + Double(w.g[j * r + $1]) * g[$1] } }
                let window = (0..<alpha).map { j in (0..<alpha).reduce(0.0) { $0 + Double(w.bt[j * alpha + $1]) * d[$1] } }
                for i in 0..<m {
                    let winograd = (0..<alpha).reduce(0.0) { $0 + Double(w.at[i * alpha + $1]) * kernel[$1] * window[$1] }
                    let direct = (0..<r).reduce(0.0) { $0 + g[$1] * d[i + $1] }
                    XCTAssertEqual(winograd, direct, accuracy: 1e-5, "F(\(m), \(r)) output \(i)")
                }
            }
            // G (x) G holds the products of G's entries: U = G g G^T as one matrix product.
            for (i, j, p, q) in [(0, 0, 0, 0), (alpha - 1, alpha / 2, r - 1, r / 2), (alpha / 2, alpha - 1, 0, r - 1)] {
                XCTAssertEqual(w.filterTransform[(i * alpha + j) * r * r + p * r + q], w.g[i * r + p] * w.g[j * r + q],
                               accuracy: 1e-6 * max(1, abs(w.g[i * r + p] * w.g[j * r + q])), "F(\(m), \(r)) G (x) G")
            }
        }
    }

    /// Layers that take Winograd's passes (16+ channels each way, stride 1, 3 x 3 or 5 x 5).
    let cases: [(ConvGeometry, filters: Int, bias: Bool, activation: Dense.Activation)] = [
        (ConvGeometry(channels: 32, height: 13, width: 13, kernel: 5, stride: 1, same: true), 32, false, .none),    // keskar-c1's shape
        (ConvGeometry(channels: 33, height: 9, width: 11, kernel: 3, stride: 1, same: false), 40, true, .none),     // valid, 7 x 9 out
        (ConvGeometry(channels: 48, height: 4, width: 10, kernel: 3, stride: 1, same: true), 35, true, .relu),
        (ConvGeometry(channels: 32, height: 7, width: 7, kernel: 3, stride: 1, same: true), 64, false, .relu),     // resnet's last stage
        (ConvGeometry(channels: 40, height: 6, width: 17, kernel: 5, stride: 1, same: false), 32, true, .relu),    // valid, 2 x 13 out: no tile
        (ConvGeometry(channels: 16, height: 9, width: 28, kernel: 3, stride: 1, same: true), 16, true, .relu),      // resnet's first stage
        (ConvGeometry(channels: 24, height: 11, width: 14, kernel: 5, stride: 1, same: true), 16, false, .none),
    ]

    /// The vector widths this CPU runs (each test forces each in turn), or a skip.
    func testPassesMatchTheNaiveTwinsAtEveryVectorWidth() throws {
        for width in try vectorKernelWidths() {
            DirectKernels.force(width: width)
            var rng = SplitMix64(seed: UInt64(23 + width))
            for (g, filters, bias, activation) in cases {
                let label = "width \(width), \(g), \(filters) filters, bias \(bias), \(activation)"
                let layer = checkAgainstTwins(g, filters: filters, activation: activation, bias: bias, &rng, tolerance: 5e-4, label: label)
                XCTAssertEqual(layer.isWinograd, g.outHeight >= 4, "which path: \(label)")
            }
        }
    }

    func testLayoutChangesMatchTheirDefinitionAtEveryVectorWidth() throws {
        // winograd.h's formulas, value by value: planes to pixels (through a ReLU mask with zeros,
        // negatives and NaN, or none) and pixels added back; channels and widths that are not whole
        // vectors, padding on every side, lanes past the channels.
        for width in try vectorKernelWidths() {
            DirectKernels.force(width: width)
            var rng = SplitMix64(seed: UInt64(31 + width))
            for (channels, height, planeWidth, top, left, rows, rowWidth, lanes) in
                [(35, 5, 19, 2, 1, 9, 22, 48), (16, 3, 16, 0, 0, 3, 16, 16), (7, 2, 5, 1, 2, 4, 9, 16), (64, 4, 33, 1, 1, 6, 36, 64)] {
                let label = "width \(width), \(channels) x \(height) x \(planeWidth) into \(rows) x \(rowWidth) x \(lanes)"
                let planes = (0..<(channels * height * planeWidth)).map { _ in rng.uniform(-1, 1) }
                var mask = (0..<planes.count).map { _ in rng.uniform(-1, 1) }
                mask[0] = 0
                mask[1] = .nan
                for gated in [false, true] {
                    var pixels = [Float](repeating: 7, count: rows * rowWidth * lanes)
                    WinogradConvolution.toPixels(planes, mask: gated ? mask : nil, channels: channels, height: height, width: planeWidth,
                                                 top: top, left: left, rows: rows, rowWidth: rowWidth, lanes: lanes, into: &pixels)
                    var expected = [Float](repeating: 0, count: pixels.count)
                    for c in 0..<channels {
                        for y in 0..<height {
                            for x in 0..<planeWidth {
                                let i = (c * height + y) * planeWidth + x
                                expected[((top + y) * rowWidth + left + x) * lanes + c] = !gated || mask[i] > 0 ? planes[i] : 0
                            }
                        }
                    }
                    XCTAssertEqual(pixels, expected, "to pixels, mask \(gated): \(label)")
                }
                let pixels = (0..<(rows * rowWidth * lanes)).map { _ in rng.uniform(-1, 1) }
                var sums = planes
                WinogradConvolution.addToPlanes(pixels, channels: channels, height: height, width: planeWidth, top: top, left: left,
                                                rowWidth: rowWidth, lanes: lanes, into: &sums)
                var expected = planes
                for c in 0..<channels {
                    for y in 0..<height {
                        for x in 0..<planeWidth { expected[(c * height + y) * planeWidth + x] += pixels[((top + y) * rowWidth + left + x) * lanes + c] }
                    }
                }
                XCTAssertEqual(sums, expected, "added to planes: \(label)")
            }
        }
    }

    func testTransformsHoldTheBuiltMatricesAsConstantsAndRunAnyOthersAsGiven() throws {
        // winograd.c's constant tables are WinogradMatrices' A^T and B^T bit for bit (else the
        // kernels would quietly take the general path), and a changed entry is noticed.
        for r in [3, 5] {
            let w = WinogradMatrices(m: 4, r: r)
            XCTAssertEqual(ddp_winograd_builtin(4, Int32(w.alpha), w.at, w.bt), 1, "F(4, \(r)) held as constants")
            var changed = w.bt
            changed[w.alpha + 1] = changed[w.alpha + 1].nextUp
            XCTAssertEqual(ddp_winograd_builtin(4, Int32(w.alpha), w.at, changed), 0, "F(4, \(r)) with B^T changed")
        }
        // Matrices other than the tables run as given: with A^T and B^T doubled (exact in floats),
        // each transform, a product by the matrix on both sides, gives 4x the constants' bits.
        for width in try vectorKernelWidths() + [4] {
            DirectKernels.force(width: width)
            var rng = SplitMix64(seed: UInt64(43 + width))
            for r in [3, 5] {
                let w = WinogradMatrices(m: 4, r: r), (m, alpha, lanes) = (4, Int32(w.alpha), 16)
                let (tilesY, tilesX) = (2, 3), tiles = tilesY * tilesX, points = w.alpha * w.alpha
                let (rows, rowWidth) = (tilesY * m + w.alpha - m, tilesX * m + w.alpha - m)
                let doubled = (at: w.at.map { $0 * 2 }, bt: w.bt.map { $0 * 2 })
                let label = "width \(width), F(4, \(r))"
                let pixels = (0..<(rows * rowWidth * lanes)).map { _ in rng.uniform(-1, 1) }
                let transformed = (0..<(points * tiles * lanes)).map { _ in rng.uniform(-1, 1) }
                func input(_ bt: [Float]) -> [Float] {
                    var v = [Float](repeating: 0, count: points * tiles * lanes)
                    ddp_winograd_input(pixels, Int32(lanes), Int32(rowWidth), Int32(tilesY), Int32(tilesX), Int32(m), alpha, bt, &v,
                                       Int32(tiles), 0)
                    return v
                }
                func output(_ at: [Float]) -> [Float] {
                    var y = [Float](repeating: 0, count: lanes * tilesY * m * tilesX * m)
                    ddp_winograd_output(transformed, Int32(lanes), Int32(lanes), Int32(tiles), 0, Int32(tilesY), Int32(tilesX), Int32(m),
                                        alpha, at, nil, 0, &y, Int32(tilesY * m), Int32(tilesX * m))
                    return y
                }
                func gradient(_ at: [Float]) -> [Float] {
                    var dm = [Float](repeating: 0, count: points * tiles * lanes)
                    ddp_winograd_gradient(pixels, Int32(lanes), Int32(rowWidth), Int32(tilesY), Int32(tilesX), Int32(m), alpha, at, &dm,
                                          Int32(tiles), 0)
                    return dm
                }
                func inputGradient(_ bt: [Float]) -> [Float] {
                    var dx = [Float](repeating: 0, count: rows * rowWidth * lanes)
                    ddp_winograd_input_gradient(transformed, Int32(lanes), Int32(tiles), 0, Int32(tilesY), Int32(tilesX), Int32(m), alpha,
                                                bt, &dx, Int32(rowWidth))
                    return dx
                }
                for (name, constants, given) in [("input", input(w.bt), input(doubled.bt)), ("output", output(w.at), output(doubled.at)),
                                                 ("gradient", gradient(w.at), gradient(doubled.at)),
                                                 ("input gradient", inputGradient(w.bt), inputGradient(doubled.bt))] {
                    XCTAssertTrue(constants.contains { $0 != 0 }, "\(name): \(label) computes something")
                    XCTAssertEqual(given, constants.map { $0 * 4 }, "\(name): \(label)")
                }
            }
        }
    }

    func testTransformedPointsAreNotAWholeNumberOfPagesApart() throws {
        // One tile's transform stores a vector to each of the alpha^2 points: at a multiple of 4 KB
        // apart they all fall in one set of L1 and evict each other (keskar-c1's 5 x 5 layer ran 1.5x
        // slower with its points 32 KB apart). resnet8's and keskar-c1's Winograd layers, and others.
        guard !DirectKernels.availableWidths.isEmpty else { throw XCTSkip("no AVX2 with FMA: Winograd's passes are not used") }
        for (channels, size, kernel, filters) in [(16, 28, 3, 16), (32, 14, 3, 32), (64, 7, 3, 64), (64, 13, 5, 64), (64, 32, 3, 64),
                                                  (128, 8, 3, 128), (16, 16, 5, 32)] {
            let g = ConvGeometry(channels: channels, height: size, width: size, kernel: kernel, stride: 1, same: true)
            let winograd = try XCTUnwrap(WinogradConvolution(geometry: g, filters: filters), "\(channels) x \(size) x \(size), \(kernel) x \(kernel)")
            for lanes in [winograd.channelLanes, winograd.filterLanes] {
                XCTAssertNotEqual(winograd.tileStride * lanes * MemoryLayout<Float>.size % 4096, 0,
                                  "\(channels) x \(size) x \(size), \(kernel) x \(kernel): points \(winograd.tileStride) tiles of \(lanes) lanes apart")
            }
            XCTAssertGreaterThanOrEqual(winograd.tileStride, winograd.chunk * winograd.tilesPerSample, "every tile of a chunk has its row")
        }
    }

    func testWeightGradientGroupsOfSamplesDoNotDependOnTheChunk() throws {
        // A 7 x 7 output is 4 tiles a sample: dU's products take 16 samples (64 tiles) at a time, in
        // groups counted from the batch's start; chunks hold whole groups. Two budgets, one leaving 48
        // samples a chunk and one that would leave 20 (rounded down to 16), give dW bit for bit, on a
        // batch of 40 (groups 16, 16, 8), and dW matches the naive twin.
        guard !DirectKernels.availableWidths.isEmpty else { throw XCTSkip("no AVX2 with FMA: Winograd's passes are not used") }
        let g = ConvGeometry(channels: 64, height: 7, width: 7, kernel: 3, stride: 1, same: true)
        let (filters, batch) = (32, 40)
        let large = try XCTUnwrap(WinogradConvolution(geometry: g, filters: filters))
        let perSample = 36 * 64 * 4  // points x lanes x tiles: the windows' floats of one sample
        let small = try XCTUnwrap(WinogradConvolution(geometry: g, filters: filters, budget: 20 * perSample))
        XCTAssertEqual(large.tilesPerSample, 4)
        XCTAssertEqual(large.samplesPerGroup, 16)
        XCTAssertEqual(large.chunk, 48)
        XCTAssertEqual(small.chunk, 16, "20 samples fit; chunks hold whole groups")
        for (size, kernel, group) in [(28, 3, 1), (14, 3, 4), (13, 5, 4), (12, 3, 4), (4, 3, 64)] {
            let other = ConvGeometry(channels: 16, height: size, width: size, kernel: kernel, stride: 1, same: true)
            let winograd = try XCTUnwrap(WinogradConvolution(geometry: other, filters: 16))
            XCTAssertEqual(winograd.samplesPerGroup, group, "\(size) x \(size): \(winograd.tilesPerSample) tiles a sample")
            XCTAssertEqual(winograd.chunk % group, 0, "\(size) x \(size): whole groups a chunk")
        }
        ConvScratch.ensureWinograd(large.sizes)
        ConvScratch.ensureWinograd(small.sizes)
        var rng = SplitMix64(seed: 37)
        let weight = (0..<(filters * 64 * 9)).map { _ in rng.uniform(-0.3, 0.3) }
        let x = (0..<(batch * g.channels * 49)).map { _ in rng.uniform(-1, 1) }
        let dy = (0..<(batch * filters * 49)).map { _ in rng.uniform(-1, 1) }
        func weightGradient(_ winograd: WinogradConvolution) -> [Float] {
            var dW = [Float](repeating: 0, count: weight.count)
            winograd.backward(input: x, output: x, outputGradient: dy, weight: weight, relu: false, weightGradient: &dW,
                              biasGradient: nil, inputGradient: nil, batch: batch)
            return dW
        }
        let together = weightGradient(large)
        XCTAssertEqual(weightGradient(small), together, "dW bit for bit with 16-sample chunks")
        var reference = [Float](repeating: 0, count: weight.count)
        let (inSize, outSize) = (g.channels * 49, filters * 49)
        for n in 0..<batch {
            let one = Conv2D.referenceBackward(x: Array(x[(n * inSize)..<((n + 1) * inSize)]), weight: weight,
                                               outputGradient: Array(dy[(n * outSize)..<((n + 1) * outSize)]), filters: filters, geometry: g)
            for i in 0..<reference.count { reference[i] += one.weight[i] }
        }
        XCTAssertLessThan(zip(together, reference).map { abs($0 - $1) / max(1, abs($1)) }.max()!, 1e-4, "dW against the naive twin")
    }

    func testABatchOfSeveralChunksGivesEachSampleWhatItGetsAlone() throws {
        guard !DirectKernels.availableWidths.isEmpty else { throw XCTSkip("no AVX2 with FMA: Winograd's passes are not used") }
        let g = ConvGeometry(channels: 64, height: 28, width: 28, kernel: 3, stride: 1, same: true)
        let layer = Conv2D(geometry: g, filters: 64, activation: .relu, bias: true)
        let winograd = try XCTUnwrap(layer.winograd)
        let batch = winograd.chunk + 1
        XCTAssertGreaterThan(batch, 2, "two chunks, the second partial")
        var rng = SplitMix64(seed: 29)
        let (p, grads) = boundConvolution(layer, &rng)
        defer { withExtendedLifetime(p) {} }
        let (inSize, outSize) = (layer.inputSize, layer.outputSize)
        let x = (0..<(batch * inSize)).map { _ in rng.uniform(-1, 1) }, dy = (0..<(batch * outSize)).map { _ in rng.uniform(-1, 1) }
        var y = [Float](repeating: 0, count: batch * outSize), dx = [Float](repeating: 0, count: batch * inSize)
        layer.forward(x, into: &y, batch: batch, context: PassContext(mode: .training))
        layer.backward(input: x, output: y, outputGradient: dy, inputGradient: &dx, batch: batch, context: PassContext(mode: .training))
        let together = grads.array
        var alone = [Float](repeating: 0, count: grads.count)
        for n in 0..<batch {
            grads.pointer.update(repeating: 0, count: grads.count)
            let xs = Array(x[(n * inSize)..<((n + 1) * inSize)]), dys = Array(dy[(n * outSize)..<((n + 1) * outSize)])
            var ys = [Float](repeating: 0, count: outSize), dxs = [Float](repeating: 0, count: inSize)
            layer.forward(xs, into: &ys, batch: 1, context: PassContext(mode: .training))
            layer.backward(input: xs, output: ys, outputGradient: dys, inputGradient: &dxs, batch: 1, context: PassContext(mode: .training))
            XCTAssertLessThan(zip(ys, y[(n * outSize)..<((n + 1) * outSize)]).map { abs($0 - $1) }.max()!, 1e-5, "y of sample \(n)")
            XCTAssertLessThan(zip(dxs, dx[(n * inSize)..<((n + 1) * inSize)]).map { abs($0 - $1) }.max()!, 1e-5, "dx of sample \(n)")
            for i in 0..<alone.count { alone[i] += grads[i] }
        }
        XCTAssertLessThan(zip(alone, together).map { abs($0 - $1) / max(1, abs($1)) }.max()!, 1e-4, "dW and db summed over the samples")
    }
}
