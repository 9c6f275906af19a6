// 2-D convolution as im2col + one OpenBLAS GEMM per sample, optional bias and ReLU fused.
// Shapes: x (N, C, H, W), weight (F, C, K, K), bias (F), y (N, F, Ho, Wo); NCHW, row-major.
// Without a bias when BatchNorm follows (its shift makes a bias redundant, as in He et al. 2016).
import Tensor

public final class Conv2D: Layer {
    public let geometry: ConvGeometry
    public let filters: Int
    public let activation: Dense.Activation
    public let hasBias: Bool
    var weight: UnsafeMutablePointer<Float>!
    var bias: UnsafeMutablePointer<Float>!
    var weightGradient: UnsafeMutablePointer<Float>!
    var biasGradient: UnsafeMutablePointer<Float>!
    /// One sample's im2col matrix (C*K*K, Ho*Wo), reused for every sample and in backward.
    let columns: FloatBuffer
    /// dy masked by the ReLU (the contract leaves dy untouched), (trainingBatch, F, Ho, Wo).
    private var masked = FloatBuffer(count: 0)

    public init(geometry: ConvGeometry, filters: Int, activation: Dense.Activation, bias: Bool = true) {
        self.geometry = geometry
        self.filters = filters
        self.activation = activation
        self.hasBias = bias
        self.inputShape = [geometry.channels, geometry.height, geometry.width]
        self.outputShape = [filters, geometry.outHeight, geometry.outWidth]
        self.columns = FloatBuffer(count: geometry.patchSize * geometry.outPixels)
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

    public func reserve(batch: Int, trainingBatch: Int) {
        if activation == .relu { masked = FloatBuffer(count: trainingBatch * outputSize) }
    }

    /// He uniform over the fan-in C*K*K for ReLU, LeCun uniform otherwise; zero bias.
    public func initialize(_ rng: inout SplitMix64) {
        let limit = ((activation == .relu ? 6 : 3) / Float(geometry.patchSize)).squareRoot()
        for i in 0..<(filters * geometry.patchSize) { weight[i] = rng.uniform(-limit, limit) }
        if hasBias { bias.update(repeating: 0, count: filters) }
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        let (patch, pixels) = (geometry.patchSize, geometry.outPixels)
        for n in 0..<batch {
            let out = y + n * outputSize
            im2col(x + n * inputSize, geometry, into: columns.pointer)
            if hasBias {
                for f in 0..<filters { (out + f * pixels).update(repeating: bias[f], count: pixels) }
            }
            // y_n (F, HoWo) (+)= W (F, CKK) cols (CKK, HoWo)
            gemm(transposeA: false, transposeB: false, m: filters, n: pixels, k: patch,
                 a: weight, lda: patch, b: columns.pointer, ldb: pixels, beta: hasBias ? 1 : 0, c: out, ldc: pixels)
        }
        if activation == .relu {
            applyReLU(y, count: batch * outputSize)
        }
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                         batch: Int, context: PassContext) {
        let (patch, pixels) = (geometry.patchSize, geometry.outPixels)
        var dy = outputGradient
        if activation == .relu {
            maskReLUGradient(outputGradient, output: y, into: masked.pointer, count: batch * outputSize)
            dy = UnsafePointer(masked.pointer)
        }
        for n in 0..<batch {
            let g = dy + n * outputSize
            im2col(x + n * inputSize, geometry, into: columns.pointer)
            // dW (F, CKK) += dy_n (F, HoWo) cols^T (HoWo, CKK)
            gemm(transposeA: false, transposeB: true, m: filters, n: patch, k: pixels,
                 a: g, lda: pixels, b: columns.pointer, ldb: pixels, beta: 1, c: weightGradient, ldc: patch)
            // db (F) += row sums of dy_n (F, HoWo), in SIMD lanes: a serial float sum per filter was a
            // fifth of the CNN's step, and sgemm with n = 1 allocates inside OpenBLAS's SkylakeX small kernel.
            if hasBias {
                for f in 0..<filters { biasGradient[f] += sum(g + f * pixels, count: pixels) }
            }
            if let dx {
                // dcols (CKK, HoWo) = W^T (CKK, F) dy_n (F, HoWo), then added back onto the image.
                gemm(transposeA: true, transposeB: false, m: patch, n: pixels, k: filters,
                     a: weight, lda: patch, b: g, ldb: pixels, beta: 0, c: columns.pointer, ldc: pixels)
                col2im(columns.pointer, geometry, addingInto: dx + n * inputSize)
            }
        }
    }

    /// Per sample: y = W cols, dW += dy cols^T, and cols = W^T dy for dx.
    public func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape] {
        let (patch, pixels) = (geometry.patchSize, geometry.outPixels)
        return [GEMMShape(m: filters, n: pixels, k: patch, count: batch),
                GEMMShape(transposeB: true, m: filters, n: patch, k: pixels, count: batch)]
            + (inputGradient ? [GEMMShape(transposeA: true, m: patch, n: pixels, k: filters, count: batch)] : [])
    }
}
