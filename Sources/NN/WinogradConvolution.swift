// Conv2D's passes by Winograd's minimal filtering, F(4 x 4, r x r) (include/winograd.h says how):
// stride-1 3 x 3 and 5 x 5 convolutions with enough channels both ways, where the transformed
// channel sums are matrix products wide enough for sgemm's kernels. Per chunk of samples (sized
// so the transformed windows fit in about 2 MB): each sample laid out pixel-major, its windows
// transformed into V (tiles, C) per point, alpha^2 products M = V U^T (tiles, F), tiles transformed
// back. The input gradient is the transpose (dV = dM U); the weight gradient dU = dM^T V per point,
// one product per point and group of samples (samplesPerGroup) whatever the chunk,
// then dW = G^T dU G once a pass.
// For a 5 x 5 kernel a tile costs 64 multiply-adds per channel pair against 400 summed directly;
// ddp bench still counts the direct sum's FLOPs (the model's arithmetic, not this method's).
// Shapes: x (N, C, H, W), weight (F, C, r, r), y (N, F, Ho, Wo).
import CConv
import Tensor

struct WinogradConvolution {
    let geometry: ConvGeometry
    let filters: Int
    let matrices: WinogradMatrices
    /// Tiles of m x m output pixels per sample, and samples per chunk (the products' height).
    let tilesY: Int, tilesX: Int, tilesPerSample: Int
    let chunk: Int
    /// Samples whose tiles make one weight-gradient product (dU += V^T dM per point): a power of two,
    /// at most 64 tiles. resnet8's 7 x 7 layer has 4 tiles a sample, so a product a sample (k = 4)
    /// read and wrote all of dU (36 points x 64 x 64) for 4 multiply-adds an entry; its backward
    /// 9.5-11.5 -> 8.0-8.7 ms at 128 per rank. Groups start at multiples of this in the micro-batch and
    /// chunks hold whole groups, so dW's sums are the same whatever the chunk, and the same groups
    /// whatever the rank count when the batch per rank is a multiple of it.
    let samplesPerGroup: Int
    /// Tiles from one point's matrix to the next in the transformed arrays: the chunk's, made odd.
    /// keskar-c1's 5 x 5 layer had 8 samples x 16 tiles x 64 lanes, points exactly 32 KB apart, so a
    /// tile's 64 stores, one per point, fell in one set of L1 and two of L2 and evicted each other.
    var tileStride: Int { chunk * tilesPerSample | 1 }
    /// Channels and filters rounded up to 16: the lanes of the pixel-major layouts.
    let channelLanes: Int, filterLanes: Int
    /// A sample's input, pixel-major, padded so every tile's window lies inside: rows x inputRow pixels.
    let inputRows: Int, inputRow: Int
    /// The output gradient, pixel-major, padded to whole tiles: rows of gradientRow pixels.
    let gradientRows: Int, gradientRow: Int

    /// Output pixels per tile side.
    static let tile = 4

    /// nil where the method does not apply or was not measured to win: stride 1, a 3 x 3 or 5 x 5
    /// kernel, at least `minimumChannels` channels in and out, at least one whole tile of output,
    /// and the direct kernels on (they share their switch: DDP_CONV=im2col or no-winograd).
    /// `budget`: floats of the transformed windows of a chunk (ConvScratch.budget; tests vary it).
    init?(geometry g: ConvGeometry, filters: Int, budget: Int = ConvScratch.budget) {
        guard WinogradConvolution.enabled, DirectConvolution.enabled, ddp_conv_active_width() >= 8,
              g.stride == 1, g.kernel == 3 || g.kernel == 5,
              min(g.channels, filters) >= WinogradConvolution.minimumChannels,
              g.outHeight >= WinogradConvolution.tile, g.outWidth >= WinogradConvolution.tile else { return nil }
        let m = WinogradConvolution.tile
        self.geometry = g
        self.filters = filters
        matrices = WinogradMatrices(m: m, r: g.kernel)
        tilesY = (g.outHeight + m - 1) / m
        tilesX = (g.outWidth + m - 1) / m
        tilesPerSample = tilesY * tilesX
        channelLanes = (g.channels + 15) / 16 * 16
        filterLanes = (filters + 15) / 16 * 16
        let points = matrices.alpha * matrices.alpha
        var group = 1
        while 2 * group * tilesPerSample <= 64 { group *= 2 }
        samplesPerGroup = group
        let fit = budget / (points * max(channelLanes, filterLanes) * tilesPerSample)
        chunk = max(1, fit / samplesPerGroup) * samplesPerGroup
        inputRow = tilesX * m + g.kernel - 1
        inputRows = tilesY * m + g.kernel - 1
        gradientRow = tilesX * m
        gradientRows = tilesY * m
    }

    /// Channels in and out below which the products are too narrow to win. At 16 (resnet8's 28 x 28
    /// layers, 128 per rank) forward ran 5.3-6.3 ms against the direct kernels' 5.6-6.3, backward
    /// 9.5-10.6 against 12.5-13.1; 8 channels fill half an AVX-512 vector.
    static let minimumChannels = 16
    /// Off with DDP_CONV=no-winograd (the direct kernels where they apply, to time both) and im2col.
    nonisolated(unsafe) static var enabled: Bool = !["no-winograd", "im2col"].contains(DirectKernels.environmentChoice)

    /// Whether the points' products run on ddp_small_product rather than sgemm: at AVX2's width,
    /// where OpenBLAS's Zen kernels pack both operands and clear c in a pass of its own for every
    /// product (resnet8 at 128 per rank on a Zen 2, one rank: the step 161-162 -> 144-145 ms). AVX-512's
    /// OpenBLAS (SkylakeX) has small-matrix kernels that ran these shapes at about 100 GFLOP/s, so
    /// it keeps sgemm; DDP_CONV=winograd-sgemm keeps sgemm everywhere, to time both.
    static var ownProducts: Bool { ddp_conv_active_width() == 8 && sgemmProducts == false }
    nonisolated(unsafe) static var sgemmProducts: Bool = DirectKernels.environmentChoice == "winograd-sgemm"

    /// C (m x n) = op(A) (m x k) B (k x n), or C += with `accumulate`: one point's product.
    private static func product(transposeA: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int, accumulate: Bool = false,
                                c: UnsafeMutablePointer<Float>, ldc: Int) {
        if ownProducts {
            ddp_small_product(Int32(m), Int32(n), Int32(k), a, Int32(transposeA ? 1 : lda), Int32(transposeA ? lda : 1), b,
                              Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
        } else {
            gemm(transposeA: transposeA, transposeB: false, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                 beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        }
    }

    /// The floats of each shared buffer (ConvScratch.ensureWinograd).
    struct Sizes {
        let padded: Int, gradientPadded: Int, windows: Int, tiles: Int, filters: Int
    }

    var sizes: Sizes {
        let points = matrices.alpha * matrices.alpha
        return Sizes(padded: inputRows * inputRow * channelLanes, gradientPadded: gradientRows * gradientRow * filterLanes,
                     windows: points * tileStride * channelLanes, tiles: points * tileStride * filterLanes,
                     filters: points * filters * geometry.channels)
    }

    /// U = G g G^T of every (filter, channel) pair into ConvScratch.winogradFilters: (alpha^2, F, C),
    /// or with `transposed` (alpha^2, C, F), from the weights permuted to (C, F, r, r) in `scratch`
    /// (sgemm runs the forward product (tiles, C)(C, F) without a transpose about 1.5x faster).
    private func transformFilters(_ weight: UnsafePointer<Float>, transposed: Bool, scratch: UnsafeMutablePointer<Float>) {
        let (c, f, points, taps) = (geometry.channels, filters, matrices.alpha * matrices.alpha, geometry.kernel * geometry.kernel)
        var source = weight
        if transposed {
            for k in 0..<f {
                for channel in 0..<c { (scratch + (channel * f + k) * taps).update(from: weight + (k * c + channel) * taps, count: taps) }
            }
            source = UnsafePointer(scratch)
        }
        matrices.filterTransform.withUnsafeBufferPointer { gg in
            gemm(transposeA: false, transposeB: true, m: points, n: f * c, k: taps, a: gg.baseAddress!, lda: taps,
                 b: source, ldb: taps, beta: 0, c: ConvScratch.winogradFilters.pointer, ldc: f * c)
        }
    }

    /// The chunk's windows transformed into ConvScratch.winogradWindows: V (alpha^2, tiles, C).
    private func transformInputs(_ x: UnsafePointer<Float>, count: Int) {
        let g = geometry, pixels = ConvScratch.padded.pointer
        let inputSize = g.channels * g.height * g.width
        matrices.bt.withUnsafeBufferPointer { bt in
            for s in 0..<count {
                Self.toPixels(x + s * inputSize, mask: nil, channels: g.channels, height: g.height, width: g.width, top: g.padTop,
                              left: g.padLeft, rows: inputRows, rowWidth: inputRow, lanes: channelLanes, into: pixels)
                ddp_winograd_input(pixels, Int32(channelLanes), Int32(inputRow), Int32(tilesY), Int32(tilesX), Int32(matrices.m),
                                   Int32(matrices.alpha), bt.baseAddress, ConvScratch.winogradWindows.pointer,
                                   Int32(tileStride), Int32(s * tilesPerSample))
            }
        }
    }

    /// y = relu?(conv(x, weight) + bias) for `batch` samples.
    func forward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool,
                 into y: UnsafeMutablePointer<Float>, batch: Int) {
        let g = geometry, (c, f, points) = (geometry.channels, filters, matrices.alpha * matrices.alpha)
        let (inputSize, outputSize) = (c * g.height * g.width, f * g.outPixels)
        let (u, v, tiles) = (ConvScratch.winogradFilters.pointer, ConvScratch.winogradWindows.pointer, ConvScratch.winogradTiles.pointer)
        let (windowPoint, tilePoint) = (tileStride * channelLanes, tileStride * filterLanes)
        transformFilters(weight, transposed: true, scratch: ConvScratch.winogradFilterGradient.pointer)
        forEachChunk(batch: batch) { first, count in
            transformInputs(x + first * inputSize, count: count)
            // M[xi] (tiles, F) = V[xi] (tiles, C) U[xi]^T (C, F)
            for xi in 0..<points {
                Self.product(m: count * tilesPerSample, n: f, k: c, a: v + xi * windowPoint, lda: channelLanes,
                             b: u + xi * f * c, ldb: f, c: tiles + xi * tilePoint, ldc: filterLanes)
            }
            matrices.at.withUnsafeBufferPointer { at in
                for s in 0..<count {
                    ddp_winograd_output(tiles, Int32(f), Int32(filterLanes), Int32(tileStride), Int32(s * tilesPerSample), Int32(tilesY),
                                        Int32(tilesX), Int32(matrices.m), Int32(matrices.alpha), at.baseAddress, bias, relu ? 1 : 0,
                                        y + (first + s) * outputSize, Int32(g.outHeight), Int32(g.outWidth))
                }
            }
        }
    }

    /// Adds dW, db (if given) and dx (if given; written over it with `overwriteInputGradient`) for
    /// `batch` samples; dy is taken through the fused ReLU by the output y.
    func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                  weight: UnsafePointer<Float>, relu: Bool, weightGradient: UnsafeMutablePointer<Float>?,
                  biasGradient: UnsafeMutablePointer<Float>?, inputGradient dx: UnsafeMutablePointer<Float>?,
                  overwriteInputGradient: Bool = false, batch: Int) {
        let g = geometry, (c, f, points) = (geometry.channels, filters, matrices.alpha * matrices.alpha)
        let (inputSize, outputSize) = (c * g.height * g.width, f * g.outPixels)
        let (u, v, tiles) = (ConvScratch.winogradFilters.pointer, ConvScratch.winogradWindows.pointer, ConvScratch.winogradTiles.pointer)
        let (windowPoint, tilePoint) = (tileStride * channelLanes, tileStride * filterLanes)
        let du = ConvScratch.winogradFilterGradient.pointer
        let (pixels, gradient) = (ConvScratch.padded.pointer, ConvScratch.gradientPadded.pointer)
        if dx != nil { transformFilters(weight, transposed: false, scratch: du) }
        if weightGradient != nil { du.update(repeating: 0, count: points * f * c) }
        forEachChunk(batch: batch) { first, count in
            // dM (alpha^2, tiles, F) = A dY A^T of the output gradient's tiles (through the ReLU).
            matrices.at.withUnsafeBufferPointer { at in
                for s in 0..<count {
                    let n = first + s
                    Self.toPixels(dy + n * outputSize, mask: relu ? y + n * outputSize : nil, channels: f, height: g.outHeight,
                                  width: g.outWidth, top: 0, left: 0, rows: gradientRows, rowWidth: gradientRow, lanes: filterLanes,
                                  into: gradient)
                    if let biasGradient { addBiasGradient(gradient, into: biasGradient) }
                    ddp_winograd_gradient(gradient, Int32(filterLanes), Int32(gradientRow), Int32(tilesY), Int32(tilesX),
                                          Int32(matrices.m), Int32(matrices.alpha), at.baseAddress, tiles, Int32(tileStride),
                                          Int32(s * tilesPerSample))
                }
            }
            if weightGradient != nil {
                // dU[xi]^T (C, F) += V[xi]^T (C, tiles) dM[xi] (tiles, F), a group of samples at a
                // time (this way round sgemm ran 1.3x faster on 64 x 64).
                transformInputs(x + first * inputSize, count: count)
                var s = 0
                while s < count {
                    let group = min(samplesPerGroup, count - s)
                    defer { s += group }
                    let offset = s * tilesPerSample
                    for xi in 0..<points {
                        Self.product(transposeA: true, m: c, n: f, k: group * tilesPerSample,
                                     a: v + xi * windowPoint + offset * channelLanes, lda: channelLanes,
                                     b: tiles + xi * tilePoint + offset * filterLanes, ldb: filterLanes, accumulate: true,
                                     c: du + xi * f * c, ldc: f)
                    }
                }
            }
            guard let dx else { return }
            // dV[xi] (tiles, C) = dM[xi] (tiles, F) U[xi] (F, C), over V; then B dV B^T added onto
            // each sample's pixels and those added into dx.
            for xi in 0..<points {
                Self.product(m: count * tilesPerSample, n: c, k: f, a: tiles + xi * tilePoint, lda: filterLanes,
                             b: u + xi * f * c, ldb: c, c: v + xi * windowPoint, ldc: channelLanes)
            }
            matrices.bt.withUnsafeBufferPointer { bt in
                for s in 0..<count {
                    pixels.update(repeating: 0, count: inputRows * inputRow * channelLanes)
                    ddp_winograd_input_gradient(v, Int32(channelLanes), Int32(tileStride), Int32(s * tilesPerSample), Int32(tilesY),
                                                Int32(tilesX), Int32(matrices.m), Int32(matrices.alpha), bt.baseAddress, pixels,
                                                Int32(inputRow))
                    Self.addToPlanes(pixels, channels: c, height: g.height, width: g.width, top: g.padTop, left: g.padLeft,
                                     rowWidth: inputRow, lanes: channelLanes, overwrite: overwriteInputGradient,
                                     into: dx + (first + s) * inputSize)
                }
            }
        }
        guard let weightGradient else { return }
        // dW (C F, r^2) = dU^T (C F, alpha^2) (G (x) G) (alpha^2, r^2), the transpose of U's transform,
        // into winogradFilters (U is done with), then added into dW (F, C, r, r).
        let (taps, sums) = (g.kernel * g.kernel, u)
        matrices.filterTransform.withUnsafeBufferPointer { gg in
            gemm(transposeA: true, transposeB: false, m: c * f, n: taps, k: points, a: du, lda: c * f,
                 b: gg.baseAddress!, ldb: taps, beta: 0, c: sums, ldc: taps)
        }
        for k in 0..<f {
            for channel in 0..<c {
                let (target, source) = (weightGradient + (k * c + channel) * taps, sums + (channel * f + k) * taps)
                for tap in 0..<taps { target[tap] += source[tap] }
            }
        }
    }

    /// db[f] += the sum of filter f's lane over the sample's gradient pixels (zeros past the output).
    private func addBiasGradient(_ pixels: UnsafePointer<Float>, into biasGradient: UnsafeMutablePointer<Float>) {
        for pixel in 0..<(gradientRows * gradientRow) {
            let row = pixels + pixel * filterLanes
            for k in 0..<filters { biasGradient[k] += row[k] }
        }
    }

    /// The batch in chunks of at most `chunk` samples: (first sample, samples).
    @inline(__always)
    private func forEachChunk(batch: Int, _ body: (_ first: Int, _ count: Int) -> Void) {
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            body(first, count)
            first += count
        }
    }
}

extension WinogradConvolution {
    /// planes (channels, height, width) into pixels (rows x rowWidth pixels of `lanes` floats) at
    /// (top, left), through a ReLU mask if given, zeros elsewhere (winograd.h: ddp_winograd_to_pixels).
    static func toPixels(_ planes: UnsafePointer<Float>, mask: UnsafePointer<Float>?, channels: Int, height: Int, width: Int,
                         top: Int, left: Int, rows: Int, rowWidth: Int, lanes: Int, into pixels: UnsafeMutablePointer<Float>) {
        precondition(top + height <= rows && left + width <= rowWidth && channels <= lanes, "the planes fit the pixels")
        ddp_winograd_to_pixels(planes, mask, Int32(channels), Int32(height), Int32(width), Int32(top), Int32(left), Int32(rows),
                               Int32(rowWidth), Int32(lanes), pixels)
    }

    /// The pixels at (top, left) of rows of rowWidth pixels added into planes (channels, height, width),
    /// or written over them with `overwrite` (ddp_winograd_add_to_planes).
    static func addToPlanes(_ pixels: UnsafePointer<Float>, channels: Int, height: Int, width: Int, top: Int, left: Int,
                            rowWidth: Int, lanes: Int, overwrite: Bool = false, into planes: UnsafeMutablePointer<Float>) {
        ddp_winograd_add_to_planes(pixels, Int32(channels), Int32(height), Int32(width), Int32(top), Int32(left), Int32(rowWidth),
                                   Int32(lanes), overwrite ? 1 : 0, planes)
    }
}
