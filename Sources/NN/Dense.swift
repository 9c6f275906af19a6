// Fully connected layer with an optional bias and an optional ReLU fused into the same pass.
// Shapes: x (N, I), weight W (O, I), bias b (O), y (N, O) = relu?(x W^T + b).
// Without a bias when BatchNorm follows (its shift makes a bias redundant, as in He et al. 2016).
import Tensor

public final class Dense: Layer {
    public enum Activation: String, Codable, Sendable { case none, relu }

    public let inputCount: Int
    public let outputCount: Int
    public let activation: Activation
    public let hasBias: Bool
    private var weight: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>!
    private var weightGradient: UnsafeMutablePointer<Float>!
    private var biasGradient: UnsafeMutablePointer<Float>!
    /// dy masked by the ReLU (the contract leaves dy untouched), (trainingBatch, O).
    private var masked = FloatBuffer(count: 0)

    public init(inputSize: Int, outputSize: Int, activation: Activation, bias: Bool = true) {
        self.inputCount = inputSize
        self.outputCount = outputSize
        self.activation = activation
        self.hasBias = bias
        self.inputShape = [inputSize]
        self.outputShape = [outputSize]
    }

    /// Stored, not computed: a computed array would allocate each time a pass asks for a size.
    public let inputShape: [Int]
    public let outputShape: [Int]

    public var parameterSpecs: [TensorSpec] {
        [TensorSpec("weight", [outputCount, inputCount], role: .weight)]
            + (hasBias ? [TensorSpec("bias", [outputCount], role: .bias)] : [])
    }

    public func bind(_ binding: LayerBinding) {
        weight = binding.parameters
        weightGradient = binding.gradients
        bias = hasBias ? binding.parameters + outputCount * inputCount : nil
        biasGradient = hasBias ? binding.gradients + outputCount * inputCount : nil
    }

    public func reserve(batch: Int, trainingBatch: Int) {
        if activation == .relu { masked = FloatBuffer(count: trainingBatch * outputCount) }
    }

    /// He uniform for ReLU layers (He et al. 2015), LeCun uniform otherwise; zero bias.
    public func initialize(_ rng: inout SplitMix64) {
        let gain: Float = activation == .relu ? 6 : 3
        let limit = (gain / Float(inputCount)).squareRoot()
        for i in 0..<(outputCount * inputCount) { weight[i] = rng.uniform(-limit, limit) }
        if hasBias { bias.update(repeating: 0, count: outputCount) }
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        if hasBias {
            for row in 0..<batch { (y + row * outputCount).update(from: bias, count: outputCount) }
        }
        gemm(transposeA: false, transposeB: true, m: batch, n: outputCount, k: inputCount,
             a: x, lda: inputCount, b: weight, ldb: inputCount, beta: hasBias ? 1 : 0, c: y, ldc: outputCount)
        if activation == .relu {
            applyReLU(y, count: batch * outputCount)
        }
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                         batch: Int, context: PassContext) {
        var dy = outputGradient
        if activation == .relu {
            // d relu: pass where the output was positive.
            maskReLUGradient(outputGradient, output: y, into: masked.pointer, count: batch * outputCount)
            dy = UnsafePointer(masked.pointer)
        }
        // dW (O, I) += dy^T (O, N) x (N, I)
        gemm(transposeA: true, transposeB: false, m: outputCount, n: inputCount, k: batch,
             a: dy, lda: outputCount, b: x, ldb: inputCount, beta: 1, c: weightGradient, ldc: inputCount)
        if hasBias {
            // db (O) += column sums of dy
            for row in 0..<batch {
                let r = dy + row * outputCount
                for o in 0..<outputCount { biasGradient[o] += r[o] }
            }
        }
        // dx (N, I) += dy (N, O) W (O, I)
        if let dx {
            gemm(transposeA: false, transposeB: false, m: batch, n: inputCount, k: outputCount,
                 a: dy, lda: outputCount, b: weight, ldb: inputCount, beta: 1, c: dx, ldc: inputCount)
        }
    }

    public func flops(batch: Int, inputGradient: Bool) -> PassFlops {
        let outputs = Double(batch * outputCount)
        let product = 2 * Double(inputCount) * outputs
        let extra = (hasBias ? outputs : 0) + (activation == .relu ? outputs : 0)
        return PassFlops(forward: product + extra, backward: product * (inputGradient ? 2 : 1) + extra)
    }

    /// The three calls above: y = x W^T, dW += dy^T x, dx += dy W.
    public func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape] {
        [GEMMShape(transposeB: true, m: batch, n: outputCount, k: inputCount),
         GEMMShape(transposeA: true, m: outputCount, n: inputCount, k: batch)]
            + (inputGradient ? [GEMMShape(m: batch, n: inputCount, k: outputCount)] : [])
    }
}
