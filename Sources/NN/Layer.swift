// What a layer must do to live in a Sequential model with one flat parameter buffer.
// Shapes: N = samples in the batch; a layer maps (N, inputSize) to (N, outputSize), row-major.
import Tensor

public protocol Layer: AnyObject {
    var inputSize: Int { get }
    var outputSize: Int { get }
    /// The layer's parameter tensors in layout order, e.g. [("weight", [out, in]), ("bias", [out])].
    var parameterShapes: [(name: String, shape: [Int])] { get }

    /// Points the layer at its slices of the flat parameter and gradient buffers.
    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>)
    /// Writes seeded initial values into the bound parameter slice.
    func initialize(_ rng: inout SplitMix64)
    /// Makes any per-sample scratch for batches up to `batch`; called before training, never in a step.
    func reserve(batch: Int)

    /// y (N, outputSize) from x (N, inputSize).
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, training: Bool)
    /// ADDS parameter gradients (so micro-batches accumulate) and writes dx if asked.
    /// dy (N, outputSize) may be overwritten; dx is nil for the first layer.
    func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                  outputGradient dy: UnsafeMutablePointer<Float>,
                  inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int)

    /// The matrix products one forward and backward pass of `batch` samples makes (for `ddp bench`:
    /// the step's FLOPs and its GEMM ceiling). `inputGradient`: whether backward computes dx.
    func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape]
}

extension Layer {
    public var parameterCount: Int {
        parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    public func reserve(batch: Int) {}

    public func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape] { [] }
}
