// Conv2D's passes without im2col (the C kernels of CConv, whose header explains the grid and tap
// tables), one sample at a time so a sample's sums never depend on how the batch is split.
// Three layouts reach the kernels: stride-1 `same` (odd kernel) and `valid` convolutions on
// zero-padded planes, and stride-2 `same` convolutions without top/left padding (resnet's
// down-sampling 3 x 3 and 1 x 1 layers) on each channel's four phase planes, x[2i + a][2j + b],
// where tap (ki, kj) reads phase (ki mod 2, kj mod 2) shifted by (ki / 2, kj / 2).
// The input gradient is a convolution of the output gradient with the weights transposed: for
// stride 1 the taps rotated by 180 degrees; for stride 2 one pass per phase of dx with that
// phase's taps, scattered back to every other pixel.
// Small planes (7 x 7, 13 x 13; 14 x 14 for dW) run dW with filters in the vector lanes, and with 64+
// filters the forward pass with outputs in the lanes, where the grid's rows are too few vectors.
// Shapes: x (N, C, H, W), weight (F, C, K, K), y (N, F, Ho, Wo).
import CConv
import Foundation
import Tensor

struct DirectConvolution {
    let geometry: ConvGeometry
    let filters: Int

    /// A padded layout of one sample's planes: rows of `rowWidth` floats, `top` zero rows and
    /// `left` zero columns before the data, planes `planeStride` floats apart.
    struct Padding {
        let top: Int, left: Int, rowWidth: Int, planeStride: Int
    }

    /// One grid computation: taps (their shifts and which kernel taps they are), its length, and
    /// where its output rows land: grid (row i, column j) -> pixel (step i + a, step j + b); step 2
    /// and a phase (a, b) for a stride-2 input gradient, else step 1 from (0, 0). (Plain integers:
    /// an optional tuple and its `map` allocated once per pass in debug builds.)
    struct Pass {
        let shifts: [Int32], taps: [Int32]
        let length: Int, rowWidth: Int, rows: Int, columns: Int
        var step = 1, a = 0, b = 0
    }

    /// Phase planes per channel for stride 2 (4, or 1 for a 1 x 1 kernel); 0: padded planes.
    let phases: Int
    let input: Padding           // x, for forward and dW (per phase plane when `phases`)
    let inputChannelStride: Int
    let forwardPass: Pass        // y and dW (dW reads the gradient on the forward grid)
    let gradientGrid: Padding    // dy on the forward grid (zeros past each line), for dW
    let gradientPadded: Padding  // dy padded for the input-gradient passes
    let inputGradient: [Pass]
    /// Where each input-gradient pass's packed weights start in ConvScratch.packed: the passes' tap
    /// sets split the kernel's taps, so together they fill what one pass of every tap would.
    let inputGradientPackOffsets: [Int]
    /// Small planes (a grid row of few vectors), and outputs up to 16 x 16 with 32 or more rows of
    /// dW (C x K x K): dW with filters in the lanes
    /// (ddp_conv_weight_gradient_by_filters) from the transposed output gradient, which needs each
    /// output pixel's place on the grid and the filters rounded up to whole vectors.
    let weightGradientByFilters: Bool
    let outputPositions: [Int32]
    let filterStride: Int
    /// Small planes with 64 filters or more: forward with the outputs in the lanes
    /// (ddp_conv_by_outputs), the grid's sums for the output pixels only (same bits).
    let forwardByOutputs: Bool
    /// A 1 x 1 kernel whose input planes (padded, or stride 2's phase (0, 0)) hold the output pixels
    /// contiguously: forward and the input gradient are then one product a sample, y (F, P) =
    /// W (F, C) x (C, P) and dx (C, P) = W^T dy, on ddp_small_product (the grid kernel's sums in its
    /// order; resnet8's stride-2 projections ran at 11-20 GFLOP/s on the grid, whose tiles summed 16
    /// or 32 terms before storing, then copied the grid out).
    let pointwise: Bool

    /// The floats each shared buffer needs (ConvScratch.ensureDirect).
    struct Sizes {
        let padded: Int, gradientGrid: Int, gradientPadded: Int, grid: Int, packed: Int
        /// A sample's output or output gradient transposed, and dW transposed (0 where unused).
        let transposed: Int, weightGradientTransposed: Int
    }

    /// `nil` where the kernels do not apply or would lose: no AVX2/AVX-512 (the CPU,
    /// DDP_CONV=im2col, or a test forcing width 4), a layout they do not cover, or a grid whose extra
    /// columns and vector tail exceed 30% of the work.
    init?(geometry g: ConvGeometry, filters: Int) {
        let k = g.kernel, width = Int(ddp_conv_active_width())
        guard DirectConvolution.enabled, width >= 8 else { return nil }
        let roundUp = { (n: Int) in (n + width - 1) / width * width }
        let kernelTaps = (0..<(k * k)).map { (ki: $0 / k, kj: $0 % k) }
        self.geometry = g
        self.filters = filters
        let valid = g.padTop == 0 && g.padLeft == 0 && g.outHeight == g.height - k + 1 && g.outWidth == g.width - k + 1
        let centred = k % 2 == 1 && g.padTop == (k - 1) / 2 && g.padLeft == (k - 1) / 2 && g.outHeight == g.height && g.outWidth == g.width
        // (`same` with an even kernel pads only below and right: neither layout; im2col.)
        if g.stride == 1 && (valid || centred) {
            // Stride 1, `valid` (p = 0) or `same` (p = (K - 1) / 2): forward on the padded planes.
            let p = g.padTop, rowWidth = g.width + 2 * p
            let length = roundUp(g.outHeight * rowWidth)
            phases = 0
            forwardPass = Pass(shifts: kernelTaps.map { Int32($0.ki * rowWidth + $0.kj) }, taps: (0..<(k * k)).map(Int32.init),
                           length: length, rowWidth: rowWidth, rows: g.outHeight, columns: g.outWidth)
            input = Padding(top: p, left: p, rowWidth: rowWidth,
                            planeStride: Self.stride(rows: g.height + 2 * p, rowWidth: rowWidth, reach: length + forwardPass.maxShift))
            inputChannelStride = input.planeStride
            // dx (H, W) = dy padded by e = K - 1 - p on every side, the taps rotated by 180 degrees.
            let e = k - 1 - p, dxRow = g.outWidth + 2 * e, dxLength = roundUp(g.height * dxRow)
            let pass = Pass(shifts: kernelTaps.map { Int32($0.ki * dxRow + $0.kj) }, taps: (0..<(k * k)).map { Int32(k * k - 1 - $0) },
                            length: dxLength, rowWidth: dxRow, rows: g.height, columns: g.width)
            gradientPadded = Padding(top: e, left: e, rowWidth: dxRow,
                                     planeStride: Self.stride(rows: g.outHeight + 2 * e, rowWidth: dxRow, reach: dxLength + pass.maxShift))
            inputGradient = [pass]
        } else if g.stride == 2 && g.padTop == 0 && g.padLeft == 0 && g.height % 2 == 0 && g.width % 2 == 0
                    && g.outHeight == g.height / 2 && g.outWidth == g.width / 2 {
            // Stride 2 on phase planes of (Ho + e) x (Wo + e), e = (K - 1) / 2 zero rows and columns
            // past the data (the bottom/right padding of TensorFlow's `same`).
            let e = (k - 1) / 2, rowWidth = g.outWidth + e, length = roundUp(g.outHeight * rowWidth)
            let rows = g.outHeight + e
            let reach = length + e * rowWidth + e
            let planeStride = Self.stride(rows: rows, rowWidth: rowWidth, reach: reach)
            // A 1 x 1 kernel reads phase (0, 0) only.
            phases = k == 1 ? 1 : 4
            forwardPass = Pass(shifts: kernelTaps.map { Int32((2 * ($0.ki % 2) + $0.kj % 2) * planeStride + ($0.ki / 2) * rowWidth + $0.kj / 2) },
                           taps: (0..<(k * k)).map(Int32.init), length: length, rowWidth: rowWidth,
                           rows: g.outHeight, columns: g.outWidth)
            input = Padding(top: 0, left: 0, rowWidth: rowWidth, planeStride: planeStride)
            inputChannelStride = phases * planeStride
            // dx's phase (a, b) (Ho x Wo) = dy padded by e above and left, with the taps of that
            // phase: dy[i - ki / 2][j - kj / 2] for tap (ki, kj).
            let dxRow = g.outWidth + e, dxLength = roundUp(g.outHeight * dxRow)
            var passes = [Pass]()
            for a in 0..<2 {
                for b in 0..<2 {
                    let mine = (0..<(k * k)).filter { ($0 / k) % 2 == a && ($0 % k) % 2 == b }
                    guard !mine.isEmpty else { continue }
                    passes.append(Pass(shifts: mine.map { Int32((e - ($0 / k) / 2) * dxRow + e - ($0 % k) / 2) }, taps: mine.map(Int32.init),
                                       length: dxLength, rowWidth: dxRow, rows: g.outHeight, columns: g.outWidth, step: 2, a: a, b: b))
                }
            }
            gradientPadded = Padding(top: e, left: e, rowWidth: dxRow,
                                     planeStride: Self.stride(rows: g.outHeight + e, rowWidth: dxRow,
                                                              reach: dxLength + (passes.map(\.maxShift).max() ?? 0)))
            inputGradient = passes
        } else {
            return nil
        }
        let channelBlocks = (g.channels + 7) / 8 * 8
        var offsets = [Int](), next = 0
        for pass in inputGradient {
            offsets.append(next)
            next += channelBlocks * filters * pass.taps.count
        }
        inputGradientPackOffsets = offsets
        gradientGrid = Padding(top: 0, left: 0, rowWidth: forwardPass.rowWidth,
                               planeStride: Self.stride(rows: g.outHeight, rowWidth: forwardPass.rowWidth, reach: forwardPass.length))
        // The grid's extra columns and vector tail: up to 30% of the work (7 x 7 and 13 x 13 planes),
        // the kernels still win forward (resnet8's 64 x 7 x 7: 6.0 vs 6.9 ms, C1's 13 x 13: 52 vs 60
        // ms); past 15%, dW's lane sums run over only 4-14 vectors a plane (7 x 7: 16.6 ms with dx
        // direct and dW on the grid, 14.7 all im2col), so there dW puts filters in the lanes.
        let efficiency = Double(g.outPixels) / Double(forwardPass.length)
        guard efficiency >= 0.7 else { return nil }
        // Filters in the lanes also won on 14 x 14 outputs (resnet8's 32-channel 3 x 3 layers:
        // backward 15.2-15.7 -> 12.9-13.4 ms, the stride-2 one into them 10.6-11.0 -> 9.7-9.8; grid
        // rows of 14 vectors) and lost on 28 x 28 (13.5-13.9 -> 14.0-15.0) and with few taps (the
        // one-channel first layer 1.2 -> 2.1, a 16-channel 1 x 1 shortcut 2.8 -> 3.3): few rows of dW
        // leave its tiles part empty.
        weightGradientByFilters = efficiency < 0.85 || (g.outPixels <= 256 && g.patchSize >= 32)
        // Outputs in the lanes: 52.0 -> 41.4-42.2 ms for C1's 64-filter 13 x 13 forward, 5.8-6.1 ->
        // 4.8 for resnet8's 64 x 7 x 7; with 16 or 32 filters its tiles hold 12-24 pixels whose
        // loads outnumber the products (resnet8's 28 x 28 and 14 x 14: 2x slower than the grid).
        forwardByOutputs = DirectConvolution.outputsInLanes && efficiency < 0.85 && filters >= 64
        pointwise = k == 1 && input.top == 0 && input.left == 0 && input.rowWidth == g.outWidth && !forwardByOutputs
        let rowWidth = forwardPass.rowWidth
        outputPositions = (0..<g.outPixels).map { Int32($0 / g.outWidth * rowWidth + $0 % g.outWidth) }
        filterStride = roundUp(filters)
    }

    /// A plane stride holding `rows` rows and every read up to `reach` floats from its start (the
    /// extra columns and vector tails read past the data, into zeros of the plane itself), in an odd
    /// number of 64-byte lines: planes a power of two of lines apart put the same pixel of every
    /// channel in one L1 set (resnet8's stride-2 layers had 1 KB phase planes, channels 4 KB apart,
    /// and a tile's loads of 16 channels evicted each other from the set's 8 ways).
    private static func stride(rows: Int, rowWidth: Int, reach: Int) -> Int {
        ((max(rows * rowWidth, reach) + 16 + 15) / 16 | 1) * 16
    }

    /// Whether layers made from now on may run forward with the outputs in the lanes (tests compare
    /// it with the grid, whose bits it must give).
    nonisolated(unsafe) static var outputsInLanes = true

    /// The kernels run unless the CPU lacks AVX2 and FMA, or DDP_CONV=im2col asks for the old path
    /// (to time both in one build). Read once, at the first layer's construction.
    static let enabled: Bool = DirectKernels.environmentChoice != "im2col" && ddp_conv_vector_width() > 0

    var sizes: Sizes {
        let (c, f, taps) = (geometry.channels, filters, geometry.kernel * geometry.kernel)
        let blocks = { (n: Int) in (n + 7) / 8 * 8 }
        return Sizes(padded: c * inputChannelStride, gradientGrid: f * gradientGrid.planeStride,
                     gradientPadded: f * gradientPadded.planeStride,
                     grid: max(blocks(f) * forwardPass.length, blocks(c) * (inputGradient.map(\.length).max() ?? 0)),
                     packed: max(blocks(f) * c, blocks(c) * f, forwardByOutputs ? c * filterStride : 0) * taps,
                     transposed: weightGradientByFilters || forwardByOutputs ? geometry.outPixels * filterStride : 0,
                     weightGradientTransposed: weightGradientByFilters ? c * taps * filterStride : 0)
    }

    /// y = relu?(conv(x, weight) + bias) for `batch` samples.
    func forward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool,
                 into y: UnsafeMutablePointer<Float>, batch: Int) {
        let (inputSize, outputSize) = (geometry.channels * geometry.height * geometry.width, filters * geometry.outPixels)
        packForward(weight)
        for n in 0..<batch { forwardSample(x + n * inputSize, bias: bias, relu: relu, into: y + n * outputSize) }
    }

    /// The weights in the forward kernel's blocks (ConvScratch.packed; rows of filterStride for
    /// forwardByOutputs), for forwardSample.
    func packForward(_ weight: UnsafePointer<Float>) {
        let g = geometry
        forwardPass.taps.withUnsafeBufferPointer { taps in
            if forwardByOutputs {
                ddp_conv_pack_rows(weight, Int32(filters), Int32(g.channels), Int32(g.kernel * g.kernel), taps.baseAddress, Int32(taps.count),
                                   Int32(filterStride), ConvScratch.packed.pointer)
            } else {
                ddp_conv_pack(weight, Int32(filters), Int32(g.channels), Int32(g.kernel * g.kernel), taps.baseAddress, Int32(taps.count), 0,
                              ConvScratch.packed.pointer)
            }
        }
    }

    /// One sample's y (F, Ho, Wo) from its x (C, H, W), with the weights packForward packed.
    func forwardSample(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool, into out: UnsafeMutablePointer<Float>) {
        let g = geometry
        if forwardByOutputs {
            let (padded, transposed) = (ConvScratch.padded.pointer, ConvScratch.transposed.pointer)
            layOut(x, into: padded)
            forwardPass.shifts.withUnsafeBufferPointer { shifts in
                outputPositions.withUnsafeBufferPointer { positions in
                    ddp_conv_by_outputs(padded, Int32(inputChannelStride), Int32(g.channels), shifts.baseAddress, Int32(shifts.count),
                                        ConvScratch.packed.pointer, Int32(filterStride), positions.baseAddress, Int32(g.outPixels), transposed)
                }
            }
            ddp_conv_store_transposed(transposed, Int32(filterStride), Int32(g.outPixels), Int32(filters), bias, relu ? 1 : 0, out)
            return
        }
        if pointwise {
            let padded = ConvScratch.padded.pointer
            layOut(x, into: padded)
            // y (F, P) = W (F, C) x (C, P), the channels' planes x's rows (a plane stride apart).
            pointwiseProduct(rows: filters, depth: g.channels, b: padded, ldb: inputChannelStride, packed: ConvScratch.packed.pointer, into: out)
            if bias != nil || relu {
                for filter in 0..<filters {
                    let plane = out + filter * g.outPixels
                    ddp_conv_store_rows(plane, Int32(g.outPixels), 1, Int32(g.outPixels), bias?[filter] ?? 0, relu ? 1 : 0, plane)
                }
            }
            return
        }
        let grid = forwardGrid(x)
        for filter in 0..<filters {
            ddp_conv_store_rows(grid + filter * forwardPass.length, Int32(forwardPass.rowWidth), Int32(g.outHeight), Int32(g.outWidth),
                                bias?[filter] ?? 0, relu ? 1 : 0, out + filter * g.outPixels)
        }
    }

    /// c (rows, P) = A (rows, depth) b (depth, P) for a pointwise kernel, A from its packed blocks of
    /// 8 rows ((ceil(rows / 8), depth, 8): ddp_conv_pack's layout), a product per block.
    private func pointwiseProduct(rows: Int, depth: Int, b: UnsafePointer<Float>, ldb: Int, packed: UnsafePointer<Float>,
                                  into c: UnsafeMutablePointer<Float>) {
        let pixels = geometry.outPixels
        var first = 0
        while first < rows {
            ddp_small_product(Int32(min(8, rows - first)), Int32(pixels), Int32(depth), packed + first * depth, 1, 8, b, Int32(ldb), 0,
                              c + first * pixels, Int32(pixels))
            first += 8
        }
    }

    /// One sample's convolution before its bias and ReLU, on the grid (ConvScratch.grid, in
    /// `gridLayout`; valid until the next pass of any layer), with the weights packForward packed;
    /// not for forwardByOutputs.
    func forwardGrid(_ x: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let (padded, grid) = (ConvScratch.padded.pointer, ConvScratch.grid.pointer)
        layOut(x, into: padded)
        run(forwardPass, input: padded, channelStride: inputChannelStride, inputs: geometry.channels, outputs: filters,
            packed: ConvScratch.packed.pointer, grid: grid)
        return UnsafePointer(grid)
    }

    /// Where forwardGrid's output planes lie: output row i at i x the grid's row width, filters a
    /// grid length apart (the columns past Wo hold sums that are not outputs).
    var gridLayout: MaxPool.PlaneLayout { MaxPool.PlaneLayout(rowStride: forwardPass.rowWidth, planeStride: forwardPass.length) }

    /// Where weightGradientFromGrid reads the output gradient: ConvScratch.gradientGrid, planes in
    /// this layout, zeros in every float of a plane's stride that is not an output pixel.
    var gradientGridLayout: MaxPool.PlaneLayout { MaxPool.PlaneLayout(rowStride: gradientGrid.rowWidth, planeStride: gradientGrid.planeStride) }

    /// weightGradient += dW, biasGradient += db, dx += the input gradient (or dx = it, with
    /// `overwriteInputGradient`: only where `writesWholeInputGradient`), each if asked, for `batch`
    /// samples; with `relu`, dy passes only where the output y is positive.
    func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                  weight: UnsafePointer<Float>, relu: Bool, weightGradient: UnsafeMutablePointer<Float>?,
                  biasGradient: UnsafeMutablePointer<Float>?, inputGradient dx: UnsafeMutablePointer<Float>?,
                  overwriteInputGradient: Bool = false, batch: Int) {
        precondition(!overwriteInputGradient || writesWholeInputGradient, "the input-gradient passes do not cover every pixel")
        let (inputSize, outputSize) = (geometry.channels * geometry.height * geometry.width, filters * geometry.outPixels)
        beginBackward(weight: weight, weightGradient: weightGradient, inputGradient: dx != nil)
        for n in 0..<batch {
            backwardSample(input: x + n * inputSize, mask: relu ? y + n * outputSize : nil, outputGradient: dy + n * outputSize,
                           weightGradient: weightGradient, biasGradient: biasGradient, inputGradient: dx.map { $0 + n * inputSize },
                           overwrite: overwriteInputGradient)
        }
        endBackward(weightGradient: weightGradient)
    }

    /// Before a batch's backwardSample calls: the input-gradient passes' weights packed if dx is
    /// wanted, and with dW by filters, dW copied transposed (rows of filterStride floats per
    /// flattened tap) into ConvScratch.weightGradientTransposed, where the samples add.
    func beginBackward(weight: UnsafePointer<Float>, weightGradient: UnsafeMutablePointer<Float>?, inputGradient: Bool) {
        if inputGradient { packInputGradient(weight) }
        guard weightGradientByFilters, let weightGradient else { return }
        let (rows, transposed) = (geometry.patchSize, ConvScratch.weightGradientTransposed.pointer)
        for u in 0..<rows {
            for f in 0..<filterStride { transposed[u * filterStride + f] = f < filters ? weightGradient[f * rows + u] : 0 }
        }
    }

    /// After them: with dW by filters, the sums copied back into weightGradient (F, C, K, K).
    func endBackward(weightGradient: UnsafeMutablePointer<Float>?) {
        guard weightGradientByFilters, let weightGradient else { return }
        let (rows, transposed) = (geometry.patchSize, ConvScratch.weightGradientTransposed.pointer)
        for f in 0..<filters {
            for u in 0..<rows { weightGradient[f * rows + u] = transposed[u * filterStride + f] }
        }
    }

    /// The weights, transposed, in the blocks of every input-gradient pass (ConvScratch.packed, pass
    /// after pass), for backwardSample. Once a batch: packing them for each sample took as long as
    /// the sample's arithmetic in resnet8's 64-channel layers.
    func packInputGradient(_ weight: UnsafePointer<Float>) {
        let g = geometry
        for index in 0..<inputGradient.count {
            inputGradient[index].taps.withUnsafeBufferPointer { tapIndex in
                ddp_conv_pack(weight, Int32(filters), Int32(g.channels), Int32(g.kernel * g.kernel), tapIndex.baseAddress,
                              Int32(tapIndex.count), 1, ConvScratch.packed.pointer + inputGradientPackOffsets[index])
            }
        }
    }

    /// Whether the input-gradient passes write every pixel of dx once they are written rather than
    /// added (ddp_conv_add_rows): stride 1, or all four phases of stride 2 (not a 1 x 1 kernel's one).
    var writesWholeInputGradient: Bool { phases == 0 || inputGradient.count == 4 }

    /// One sample's backward, between beginBackward and endBackward: weightGradient += its dW,
    /// biasGradient += its db, dx += its input gradient (dx = it with `overwrite`), each if asked; dy
    /// passes only where `mask` (the sample's output y) is positive, if given.
    func backwardSample(input x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, outputGradient dy: UnsafePointer<Float>,
                        weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?,
                        inputGradient dx: UnsafeMutablePointer<Float>?, overwrite: Bool = false) {
        let g = geometry
        if weightGradient != nil && weightGradientByFilters {
            let (transposed, sums) = (ConvScratch.transposed.pointer, ConvScratch.weightGradientTransposed.pointer)
            ddp_conv_transpose_gradient(dy, mask, Int32(filters), Int32(g.outPixels), Int32(filterStride), transposed, biasGradient)
            layOut(x, into: ConvScratch.padded.pointer)
            forwardPass.shifts.withUnsafeBufferPointer { shifts in
                outputPositions.withUnsafeBufferPointer { positions in
                    ddp_conv_weight_gradient_by_filters(ConvScratch.padded.pointer, Int32(inputChannelStride), Int32(g.channels),
                                                        shifts.baseAddress, Int32(g.kernel * g.kernel), positions.baseAddress,
                                                        Int32(g.outPixels), transposed, Int32(filterStride), sums)
                }
            }
        } else if let weightGradient {
            pad(dy, mask: mask, channels: filters, rows: g.outHeight, columns: g.outWidth, gradientGrid, into: ConvScratch.gradientGrid.pointer)
            weightGradientFromGrid(input: x, weightGradient: weightGradient, biasGradient: biasGradient)
        }
        guard let dx else { return }
        if pointwise && mask == nil {
            // dx's pixels (C, P) = W^T (C, F) dy (F, P), dy as it is, then onto dx (every other pixel for stride 2).
            let (pass, grid) = (inputGradient[0], ConvScratch.grid.pointer)
            pointwiseProduct(rows: g.channels, depth: filters, b: dy, ldb: g.outPixels, packed: ConvScratch.packed.pointer + inputGradientPackOffsets[0],
                             into: grid)
            ddp_conv_add_rows(grid, Int32(g.outPixels), Int32(g.outWidth), Int32(g.channels), Int32(pass.rows), Int32(pass.columns),
                              Int32(pass.step), Int32(pass.a), Int32(pass.b), Int32(g.height), Int32(g.width), overwrite ? 1 : 0, dx)
            return
        }
        let (forInput, grid) = (ConvScratch.gradientPadded.pointer, ConvScratch.grid.pointer)
        pad(dy, mask: mask, channels: filters, rows: g.outHeight, columns: g.outWidth, gradientPadded, into: forInput)
        // By index: a for-in over the passes allocated its iterator once a pass in debug builds.
        for index in 0..<inputGradient.count {
            let pass = inputGradient[index]
            run(pass, input: forInput, channelStride: gradientPadded.planeStride, inputs: filters, outputs: g.channels,
                packed: ConvScratch.packed.pointer + inputGradientPackOffsets[index], grid: grid)
            // Grid row c, line i, column j -> dx[c][i][j], or dx[c][2i + a][2j + b] for a phase (in
            // C vectors: resnet8's 28 x 28 layers' backward 1.03-1.08x, one rank, alternating launches).
            // Written by the first pass onto each line: stride 1's one, and phase (a, 0) before (a, 1).
            let writes = overwrite && (pass.step == 1 || pass.b == 0)
            ddp_conv_add_rows(grid, Int32(pass.length), Int32(pass.rowWidth), Int32(g.channels), Int32(pass.rows), Int32(pass.columns),
                              Int32(pass.step), Int32(pass.a), Int32(pass.b), Int32(g.height), Int32(g.width), writes ? 1 : 0, dx)
        }
    }

    /// weightGradient += one sample's dW, biasGradient (if given) += its db, from its x (C, H, W) and
    /// its output gradient already in ConvScratch.gradientGrid (gradientGridLayout).
    func weightGradientFromGrid(input x: UnsafePointer<Float>, weightGradient: UnsafeMutablePointer<Float>,
                                biasGradient: UnsafeMutablePointer<Float>?) {
        let g = geometry
        let (padded, onGrid) = (ConvScratch.padded.pointer, ConvScratch.gradientGrid.pointer)
        layOut(x, into: padded)
        // dW += sample after sample, as the im2col path adds its per-sample products, so a batch
        // split into micro-batches gives the same bits.
        forwardPass.shifts.withUnsafeBufferPointer { shifts in
            ddp_conv_weight_gradient(padded, Int32(inputChannelStride), Int32(g.channels), shifts.baseAddress, Int32(g.kernel * g.kernel),
                                     onGrid, Int32(gradientGrid.planeStride), Int32(filters), Int32(forwardPass.length), weightGradient)
        }
        // db: a grid row holds the masked dy and zeros.
        if let biasGradient {
            for filter in 0..<filters { biasGradient[filter] += sum(onGrid + filter * gradientGrid.planeStride, count: forwardPass.length) }
        }
    }

    /// One sample's x in the forward layout: padded planes, or phase planes for stride 2.
    private func layOut(_ x: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
        let g = geometry
        if phases > 0 {
            Self.splitPhases(x, channels: g.channels, height: g.height, width: g.width, phases: phases, rowWidth: input.rowWidth,
                             planeStride: input.planeStride, into: padded)
        } else {
            pad(x, mask: nil, channels: g.channels, rows: g.height, columns: g.width, input, into: padded)
        }
    }

    /// Each channel's plane (height x width, both even) as its phase planes x[2i + a][2j + b], p = 2a + b
    /// (p = 0 only when phases is 1), rows of rowWidth floats, planeStride apart, zeros elsewhere
    /// (conv_direct.h: ddp_conv_pad_phases); nothing past channels x phases x planeStride is written.
    static func splitPhases(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, phases: Int, rowWidth: Int,
                            planeStride: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(height % 2 == 0 && width % 2 == 0 && width / 2 <= rowWidth && height / 2 * rowWidth <= planeStride,
                     "the phases fit their planes")
        ddp_conv_pad_phases(x, Int32(channels), Int32(height), Int32(width), Int32(phases), Int32(rowWidth), Int32(planeStride), out)
    }

    private func pad(_ source: UnsafePointer<Float>, mask: UnsafePointer<Float>?, channels: Int, rows: Int, columns: Int,
                     _ layout: Padding, into target: UnsafeMutablePointer<Float>) {
        ddp_conv_pad(source, mask, Int32(channels), Int32(rows), Int32(columns), Int32(layout.top), Int32(layout.left),
                     Int32(layout.rowWidth), Int32(layout.planeStride), target)
    }

    private func run(_ pass: Pass, input: UnsafePointer<Float>, channelStride: Int, inputs: Int, outputs: Int,
                     packed: UnsafePointer<Float>, grid: UnsafeMutablePointer<Float>) {
        pass.shifts.withUnsafeBufferPointer { shifts in
            ddp_conv_grid(input, Int32(channelStride), Int32(inputs), shifts.baseAddress, Int32(shifts.count),
                          packed, Int32(outputs), Int32(pass.length), grid)
        }
    }
}

extension DirectConvolution.Pass {
    var maxShift: Int { Int(shifts.max() ?? 0) }
}

/// Which instruction sets the direct kernels can use here, and a switch between them for tests.
public enum DirectKernels {
    /// The values of DDP_CONV, the switch that times the older paths in one build: the direct
    /// kernels (the default), the same without running a convolution and its max-pool together
    /// (ConvPoolPair), the direct kernels where Winograd's would run (WinogradConvolution), Winograd's
    /// point products through sgemm where its own kernel would run (WinogradConvolution.ownProducts),
    /// or im2col + sgemm for every convolution.
    public static let environmentChoices = ["direct", "unfused", "no-winograd", "winograd-sgemm", "im2col"]
    static var environmentChoice: String { getenv("DDP_CONV").map { String(cString: $0) } ?? "direct" }

    /// Why DDP_CONV cannot be used (a typo would otherwise time the direct kernels as im2col), or nil.
    /// The executable refuses to start on it.
    public static var environmentProblem: String? {
        let value = environmentChoice
        if environmentChoices.contains(value) { return nil }
        return "DDP_CONV=\(value) is not one of: \(environmentChoices.joined(separator: ", ")) (direct is the default)"
    }

    /// Vector widths this CPU runs: [16, 8] with AVX-512, [8] with AVX2 and FMA only, else [] (and
    /// every convolution takes im2col + sgemm).
    public static var availableWidths: [Int] {
        let widest = Int(ddp_conv_vector_width())
        return [16, 8].filter { $0 <= widest }
    }

    /// What convolutions run on in this process: "direct AVX-512" or "direct AVX2" (and whether
    /// Winograd's passes take the layers WinogradConvolution covers), or "im2col" with the reason
    /// (DDP_CONV=im2col, or a CPU without AVX2 and FMA). Layouts the kernels do not cover run
    /// im2col either way.
    public static var inUse: String {
        if !DirectConvolution.enabled {
            return ddp_conv_vector_width() == 0 ? "im2col (no AVX2 and FMA)" : "im2col (DDP_CONV=im2col)"
        }
        let pairs = ConvPoolPair.enabled ? "" : ", conv and pool apart (DDP_CONV=unfused)"
        let winograd = WinogradConvolution.enabled
            ? " + Winograd F(4x4) on stride-1 3x3 and 5x5 layers of \(WinogradConvolution.minimumChannels)+ channels"
                + (WinogradConvolution.ownProducts ? " (point products: ddp_small_product)"
                   : WinogradConvolution.sgemmProducts ? " (point products: sgemm, DDP_CONV=winograd-sgemm)" : "")
            : " (DDP_CONV=no-winograd)"
        switch ddp_conv_active_width() {
        case 16: return "direct AVX-512" + winograd + pairs
        case 8: return "direct AVX2" + winograd + pairs
        default: return "im2col (forced by a test)"
        }
    }

    /// The width the kernels use from now on (0: the CPU's widest; 4: BatchNorm's SSE passes and no
    /// direct convolution). A layer's grid is sized at its construction: set this before
    /// constructing the layers it should apply to.
    public static func force(width: Int) { ddp_conv_force_vector_width(Int32(width)) }
}
