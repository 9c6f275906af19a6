// 2-D convolution as im2col + one OpenBLAS GEMM per sample, bias and optional ReLU fused.
// Shapes: x (N, C, H, W), weight (F, C, K, K), bias (F), y (N, F, Ho, Wo); NCHW, row-major.
import Tensor

public final class Conv2D: Layer {
    public let geometry: ConvGeometry
    public let filters: Int
    public let activation: Dense.Activation
    var weight: UnsafeMutablePointer<Float>!
    var bias: UnsafeMutablePointer<Float>!
    var weightGradient: UnsafeMutablePointer<Float>!
    var biasGradient: UnsafeMutablePointer<Float>!
    /// One sample's im2col matrix (C*K*K, Ho*Wo), reused for every sample and in backward.
    let columns: FloatBuffer

    public init(geometry: ConvGeometry, filters: Int, activation: Dense.Activation) {
        self.geometry = geometry
        self.filters = filters
        self.activation = activation
        self.columns = FloatBuffer(count: geometry.patchSize * geometry.outPixels)
    }

    public var inputSize: Int { geometry.channels * geometry.height * geometry.width }
    public var outputSize: Int { filters * geometry.outPixels }
    public var outputShape: [Int] { [filters, geometry.outHeight, geometry.outWidth] }

    public var parameterShapes: [(name: String, shape: [Int])] {
        [("weight", [filters, geometry.channels, geometry.kernel, geometry.kernel]), ("bias", [filters])]
    }

    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        weight = parameters
        bias = parameters + filters * geometry.patchSize
        weightGradient = gradients
        biasGradient = gradients + filters * geometry.patchSize
    }

    /// He uniform over the fan-in C*K*K for ReLU, LeCun uniform otherwise; zero bias.
    public func initialize(_ rng: inout SplitMix64) {
        let limit = ((activation == .relu ? 6 : 3) / Float(geometry.patchSize)).squareRoot()
        for i in 0..<(filters * geometry.patchSize) { weight[i] = rng.uniform(-limit, limit) }
        bias.update(repeating: 0, count: filters)
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, training: Bool) {
        let (patch, pixels) = (geometry.patchSize, geometry.outPixels)
        for n in 0..<batch {
            let out = y + n * outputSize
            im2col(x + n * inputSize, geometry, into: columns.pointer)
            for f in 0..<filters { (out + f * pixels).update(repeating: bias[f], count: pixels) }
            // y_n (F, HoWo) += W (F, CKK) cols (CKK, HoWo)
            gemm(transposeA: false, transposeB: false, m: filters, n: pixels, k: patch,
                 a: weight, lda: patch, b: columns.pointer, ldb: pixels, beta: 1, c: out, ldc: pixels)
        }
        if activation == .relu {
            applyReLU(y, count: batch * outputSize)
        }
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafeMutablePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int) {
        let (patch, pixels) = (geometry.patchSize, geometry.outPixels)
        if activation == .relu {
            maskReLUGradient(dy, output: y, count: batch * outputSize)
        }
        for n in 0..<batch {
            let g = dy + n * outputSize
            im2col(x + n * inputSize, geometry, into: columns.pointer)
            // dW (F, CKK) += dy_n (F, HoWo) cols^T (HoWo, CKK)
            gemm(transposeA: false, transposeB: true, m: filters, n: patch, k: pixels,
                 a: g, lda: pixels, b: columns.pointer, ldb: pixels, beta: 1, c: weightGradient, ldc: patch)
            // db (F) += row sums of dy_n (F, HoWo), in SIMD lanes: a serial float sum per filter was a
            // fifth of the CNN's step, and sgemm with n = 1 allocates inside OpenBLAS's SkylakeX small kernel.
            for f in 0..<filters { biasGradient[f] += sum(g + f * pixels, count: pixels) }
            if let dx {
                // dcols (CKK, HoWo) = W^T (CKK, F) dy_n (F, HoWo), then scatter back to the image.
                gemm(transposeA: true, transposeB: false, m: patch, n: pixels, k: filters,
                     a: weight, lda: patch, b: g, ldb: pixels, beta: 0, c: columns.pointer, ldc: pixels)
                let image = dx + n * inputSize
                image.update(repeating: 0, count: inputSize)
                col2im(columns.pointer, geometry, addingInto: image)
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
