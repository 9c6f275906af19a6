// Fully connected layer with the bias and an optional ReLU fused into the same pass.
// Shapes: x (N, I), weight W (O, I), bias b (O), y (N, O) = relu?(x W^T + b).
import Tensor

public final class Dense: Layer {
    public enum Activation: String, Codable, Sendable { case none, relu }

    public let inputSize: Int
    public let outputSize: Int
    public let activation: Activation
    private var weight: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>!
    private var weightGradient: UnsafeMutablePointer<Float>!
    private var biasGradient: UnsafeMutablePointer<Float>!

    public init(inputSize: Int, outputSize: Int, activation: Activation) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.activation = activation
    }

    public var parameterShapes: [(name: String, shape: [Int])] {
        [("weight", [outputSize, inputSize]), ("bias", [outputSize])]
    }

    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        weight = parameters
        bias = parameters + outputSize * inputSize
        weightGradient = gradients
        biasGradient = gradients + outputSize * inputSize
    }

    /// He uniform for ReLU layers (He et al. 2015), LeCun uniform for the linear output; zero bias.
    public func initialize(_ rng: inout SplitMix64) {
        let gain: Float = activation == .relu ? 6 : 3
        let limit = (gain / Float(inputSize)).squareRoot()
        for i in 0..<(outputSize * inputSize) { weight[i] = rng.uniform(-limit, limit) }
        bias.update(repeating: 0, count: outputSize)
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, training: Bool) {
        for row in 0..<batch {
            (y + row * outputSize).update(from: bias, count: outputSize)
        }
        gemm(transposeA: false, transposeB: true, m: batch, n: outputSize, k: inputSize,
             a: x, lda: inputSize, b: weight, ldb: inputSize, beta: 1, c: y, ldc: outputSize)
        if activation == .relu {
            applyReLU(y, count: batch * outputSize)
        }
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafeMutablePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int) {
        if activation == .relu {
            // d relu: pass where the output was positive.
            maskReLUGradient(dy, output: y, count: batch * outputSize)
        }
        // dW (O, I) += dy^T (O, N) x (N, I)
        gemm(transposeA: true, transposeB: false, m: outputSize, n: inputSize, k: batch,
             a: dy, lda: outputSize, b: x, ldb: inputSize, beta: 1, c: weightGradient, ldc: inputSize)
        // db (O) += column sums of dy
        for row in 0..<batch {
            let r = dy + row * outputSize
            for o in 0..<outputSize { biasGradient[o] += r[o] }
        }
        // dx (N, I) = dy (N, O) W (O, I)
        if let dx {
            gemm(transposeA: false, transposeB: false, m: batch, n: inputSize, k: outputSize,
                 a: dy, lda: outputSize, b: weight, ldb: inputSize, beta: 0, c: dx, ldc: inputSize)
        }
    }

    /// The three calls above: y = x W^T, dW += dy^T x, dx = dy W.
    public func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape] {
        [GEMMShape(transposeB: true, m: batch, n: outputSize, k: inputSize),
         GEMMShape(transposeA: true, m: outputSize, n: inputSize, k: batch)]
            + (inputGradient ? [GEMMShape(m: batch, n: inputSize, k: outputSize)] : [])
    }
}
