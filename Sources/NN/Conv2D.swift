// 2-D convolution as im2col + one OpenBLAS GEMM per chunk of samples (forward and input gradient;
// the weight gradient is summed sample by sample, see backward), optional bias and ReLU fused.
// Shapes: x (N, C, H, W), weight (F, C, K, K), bias (F), y (N, F, Ho, Wo); NCHW, row-major.
// A chunk of B samples (ConvScratch sizes it to the cache) is laid side by side: columns
// (C*K*K, B*Ho*Wo), products (F, B*Ho*Wo), so a pass is one GEMM of width B*Ho*Wo instead of
// B of width Ho*Wo (49 for resnet's last stage: too narrow for the kernels); products are
// scattered to (and gathered from) NCHW with bias and ReLU fused into that copy (a chunk of one
// sample already has y's and dy's layout: no copy).
// Without a bias when BatchNorm follows (its shift makes a bias redundant, as in He et al. 2016).
// Layers DirectConvolution covers (stride-1 `same` and `valid`, stride-2 `same`, planes large
// enough) run its kernels instead; the GEMM path stays for the rest and as DDP_CONV=im2col.
// Stride-1 3 x 3 and 5 x 5 layers with 16+ channels each way run Winograd's F(4 x 4, r x r)
// (WinogradConvolution) instead of the direct kernels: DDP_CONV=no-winograd keeps them direct.
import Tensor

public final class Conv2D: InputGradientWriter {
    public let geometry: ConvGeometry
    public let filters: Int
    public let activation: Dense.Activation
    public let hasBias: Bool
    var weight: UnsafeMutablePointer<Float>!
    var bias: UnsafeMutablePointer<Float>!
    var weightGradient: UnsafeMutablePointer<Float>!
    var biasGradient: UnsafeMutablePointer<Float>!
    /// Samples per chunk: as many as keep columns and products within ConvScratch.budget floats each.
    public let chunk: Int
    /// The kernels without im2col, where they apply (DirectConvolution.init says where).
    let direct: DirectConvolution?
    /// Winograd's passes, where they apply (WinogradConvolution.init says where); then `direct` is nil.
    let winograd: WinogradConvolution?
    /// Whether the passes run the direct kernels (else im2col + sgemm).
    public var isDirect: Bool { direct != nil }
    /// Whether the passes run Winograd's F(4 x 4, r x r).
    public var isWinograd: Bool { winograd != nil }

    /// `directKernels: false` keeps im2col + sgemm where DirectConvolution would apply (tests of
    /// that path, and timing both in one build).
    public init(geometry: ConvGeometry, filters: Int, activation: Dense.Activation, bias: Bool = true, directKernels: Bool = true) {
        self.geometry = geometry
        self.filters = filters
        self.activation = activation
        self.hasBias = bias
        self.inputShape = [geometry.channels, geometry.height, geometry.width]
        self.outputShape = [filters, geometry.outHeight, geometry.outWidth]
        let widest = max(geometry.patchSize, filters) * geometry.outPixels
        chunk = max(1, ConvScratch.budget / widest)
        winograd = directKernels ? WinogradConvolution(geometry: geometry, filters: filters) : nil
        direct = directKernels && winograd == nil ? DirectConvolution(geometry: geometry, filters: filters) : nil
        if let winograd { ConvScratch.ensureWinograd(winograd.sizes) }
        if let direct { ConvScratch.ensureDirect(direct.sizes) }
        if direct == nil && winograd == nil {
            ConvScratch.ensure(columns: chunk * geometry.patchSize * geometry.outPixels, products: chunk * filters * geometry.outPixels)
        }
    }

    /// Stored, not computed: a computed array would allocate each time a pass asks for a size.
    public let inputShape: [Int]
    public let outputShape: [Int]

    public var parameterSpecs: [TensorSpec] {
        [TensorSpec("weight", [filters, geometry.channels, geometry.kernel, geometry.kernel], role: .weight)]
            + (hasBias ? [TensorSpec("bias", [filters], role: .bias)] : [])
    }

    public func bind(_ binding: LayerBinding) {
        weight = binding.parameters
        weightGradient = binding.gradients
        bias = hasBias ? binding.parameters + filters * geometry.patchSize : nil
        biasGradient = hasBias ? binding.gradients + filters * geometry.patchSize : nil
    }

    /// He uniform over the fan-in C*K*K for ReLU, LeCun uniform otherwise; zero bias.
    public func initialize(_ rng: inout SplitMix64) {
        let limit = ((activation == .relu ? 6 : 3) / Float(geometry.patchSize)).squareRoot()
        for i in 0..<(filters * geometry.patchSize) { weight[i] = rng.uniform(-limit, limit) }
        if hasBias { bias.update(repeating: 0, count: filters) }
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        let (patch, pixels) = (geometry.patchSize, geometry.outPixels)
        let (columns, products) = (ConvScratch.columns.pointer, ConvScratch.products.pointer)
        let relu = activation == .relu
        if let winograd {
            return winograd.forward(x, weight: weight, bias: hasBias ? UnsafePointer(bias) : nil, relu: relu, into: y, batch: batch)
        }
        if let direct {
            return direct.forward(x, weight: weight, bias: hasBias ? UnsafePointer(bias) : nil, relu: relu, into: y, batch: batch)
        }
        forEachChunk(batch: batch) { first, count, width in
            fillColumns(x, first: first, count: count, width: width)
            // products (F, B*HoWo) = W (F, CKK) columns (CKK, B*HoWo). A chunk of one sample (the
            // large layers) has the output's own layout: the product goes straight into y.
            let direct = count == 1
            let target = direct ? y + first * outputSize : products
            gemm(transposeA: false, transposeB: false, m: filters, n: width, k: patch,
                 a: weight, lda: patch, b: columns, ldb: width, beta: 0, c: target, ldc: width)
            if !direct || hasBias || relu {
                for j in 0..<count {
                    let out = y + (first + j) * outputSize
                    for f in 0..<filters {
                        storeChannel(target + f * width + j * pixels, into: out + f * pixels, count: pixels,
                                     bias: hasBias ? bias[f] : 0, relu: relu)
                    }
                }
            }
        }
    }

    /// With `overwrite`, Winograd's passes and the direct ones that cover every pixel write dx sample
    /// by sample; the others (a 1 x 1 stride-2 kernel's one phase, im2col) add onto dx cleared first.
    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, overwrite: Bool, batch: Int, context: PassContext) {
        let (relu, biasGradient) = (activation == .relu, hasBias ? self.biasGradient : nil)
        if let winograd {
            return winograd.backward(input: x, output: y, outputGradient: dy, weight: weight, relu: relu, weightGradient: weightGradient,
                                     biasGradient: biasGradient, inputGradient: dx, overwriteInputGradient: overwrite, batch: batch)
        }
        let writes = overwrite && direct?.writesWholeInputGradient == true
        if overwrite && !writes, let dx { dx.update(repeating: 0, count: batch * inputSize) }
        guard let direct else {
            return backwardByColumns(input: x, output: y, outputGradient: dy, inputGradient: dx, batch: batch)
        }
        direct.backward(input: x, output: y, outputGradient: dy, weight: weight, relu: relu, weightGradient: weightGradient,
                        biasGradient: biasGradient, inputGradient: dx, overwriteInputGradient: writes, batch: batch)
    }

    /// The im2col + sgemm backward pass: dW, db, and dx if asked.
    private func backwardByColumns(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                                   outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int) {
        let (patch, pixels) = (geometry.patchSize, geometry.outPixels)
        let (columns, products) = (ConvScratch.columns.pointer, ConvScratch.products.pointer)
        let relu = activation == .relu
        forEachChunk(batch: batch) { first, count, width in
            // gradient (F, B*HoWo) = dy of the chunk, masked by the fused ReLU (dy itself stays untouched),
            // in products; a one-sample chunk without ReLU reads dy in place.
            let direct = count == 1 && !relu
            let gradient = direct ? dy + first * outputSize : UnsafePointer(products)
            if !direct {
                for j in 0..<count {
                    let offset = (first + j) * outputSize
                    for f in 0..<filters {
                        let source = offset + f * pixels
                        let target = products + f * width + j * pixels
                        if relu {
                            maskReLUGradient(dy + source, output: y + source, into: target, count: pixels)
                        } else {
                            target.update(from: dy + source, count: pixels)
                        }
                    }
                }
            }
            fillColumns(x, first: first, count: count, width: width)
            // dW (F, CKK) += dy_n (F, HoWo) columns_n^T (HoWo, CKK), sample by sample: one product over the
            // chunk (k = B*HoWo) sums in an order that depends on where chunks begin, which moved resnet's
            // parameters apart by 2e-4 between 1 x 32 and 2 x 16 in 10 steps (gradients before BatchNorm
            // cancel heavily); per sample, the order is the same however the batch is split.
            for j in 0..<count {
                gemm(transposeA: false, transposeB: true, m: filters, n: patch, k: pixels,
                     a: gradient + j * pixels, lda: width, b: columns + j * pixels, ldb: width, beta: 1, c: weightGradient, ldc: patch)
            }
            // db (F) += row sums of dy, in SIMD lanes (an n = 1 sgemm allocates inside OpenBLAS's SkylakeX small kernel).
            if hasBias {
                for f in 0..<filters { biasGradient[f] += sum(gradient + f * width, count: width) }
            }
            if let dx {
                // dcolumns (CKK, B*HoWo) = W^T (CKK, F) dy (F, B*HoWo), then added back onto each image.
                gemm(transposeA: true, transposeB: false, m: patch, n: width, k: filters,
                     a: weight, lda: patch, b: gradient, ldb: width, beta: 0, c: columns, ldc: width)
                for j in 0..<count {
                    col2im(columns + j * pixels, geometry, rowStride: width, addingInto: dx + (first + j) * inputSize)
                }
            }
        }
    }

    /// The batch in chunks of at most `chunk` samples: (first sample, samples, columns' width B*HoWo).
    @inline(__always)
    private func forEachChunk(batch: Int, _ body: (_ first: Int, _ count: Int, _ width: Int) -> Void) {
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            body(first, count, count * geometry.outPixels)
            first += count
        }
    }

    /// The chunk's im2col columns side by side in the shared scratch: (CKK, B*HoWo).
    @inline(__always)
    private func fillColumns(_ x: UnsafePointer<Float>, first: Int, count: Int, width: Int) {
        let (columns, pixels) = (ConvScratch.columns.pointer, geometry.outPixels)
        for j in 0..<count { im2col(x + (first + j) * inputSize, geometry, into: columns + j * pixels, rowStride: width) }
    }

    /// 2 F CKK per output value for each product, plus the bias and ReLU forward and the ReLU mask backward.
    public func flops(batch: Int, inputGradient: Bool) -> PassFlops {
        let outputs = Double(batch * outputSize)
        let product = 2 * Double(geometry.patchSize) * outputs
        let extra = (hasBias ? outputs : 0) + (activation == .relu ? outputs : 0)
        return PassFlops(forward: product + extra,
                         backward: product * (inputGradient ? 2 : 1) + extra)
    }

    /// Per chunk of samples: products = W columns and columns = W^T dy for dx; per sample dW += dy columns^T.
    public func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape] {
        let (patch, pixels) = (geometry.patchSize, geometry.outPixels)
        let full = batch / chunk, rest = batch % chunk
        return [(min(chunk, batch), full), (rest, 1)].filter { $0.0 > 0 && $0.1 > 0 }.flatMap { size, times in
            let width = size * pixels
            return [GEMMShape(m: filters, n: width, k: patch, count: times),
                    GEMMShape(transposeB: true, m: filters, n: patch, k: pixels, count: times * size)]
                + (inputGradient ? [GEMMShape(transposeA: true, m: patch, n: width, k: filters, count: times)] : [])
        }
    }
}

/// target = relu?(source + bias), one output channel's plane, 16 floats at a time.
@inline(__always)
func storeChannel(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int, bias: Float, relu: Bool) {
    var i = 0
    let (input, output) = (UnsafeRawPointer(source), UnsafeMutableRawPointer(target))
    while i + 16 <= count {
        var v = input.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) + bias
        if relu { v = v.replacing(with: 0, where: v .< 0) }
        output.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count {
        let v = source[i] + bias
        target[i] = relu ? max(v, 0) : v
        i += 1
    }
}
