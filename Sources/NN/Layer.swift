// The layer contract (after mlx-swift's MLXNN and llm.c): containers are layers, backward ADDS
// into the input gradient (or writes it when asked: the buffer's one writer) and never writes the
// output gradient, parameters carry a role, and state that is not trained (BatchNorm's running
// statistics) lives in its own flat buffer.
// Shapes: N = samples in the batch; a layer maps (N, inputSize) to (N, outputSize), row-major,
// where a sample of shape [C, H, W] is stored as C planes of H x W (NCHW).
import Tensor

/// What a pass is for. `probe` (the sharpness measurement) differentiates the model as
/// evaluation computes it: running statistics, no dropout, and nothing updated.
public enum PassMode: Sendable {
    case training, evaluation, probe
}

/// Everything a pass may depend on besides its input: the mode, and what keys randomness
/// (seed, epoch, the global indices of the samples), so that dropout is a function of the
/// sample and not of the rank that happens to hold it.
public struct PassContext {
    public var mode: PassMode
    public var seed: UInt64
    public var epoch: Int
    /// Dataset indices of the N samples of this pass (training mode needs them for dropout).
    public var sampleIndices: UnsafePointer<Int32>?
    /// BatchNorm takes training statistics over consecutive groups of this many samples.
    public var ghostBatch: Int
    /// Told as each child of a chain finishes its backward pass (gradient buckets; nil: nobody).
    public var backwardObserver: BackwardObserver?

    public init(mode: PassMode, seed: UInt64 = 0, epoch: Int = 0, sampleIndices: UnsafePointer<Int32>? = nil,
                ghostBatch: Int = .max) {
        self.mode = mode
        self.seed = seed
        self.epoch = epoch
        self.sampleIndices = sampleIndices
        self.ghostBatch = ghostBatch
    }

    public static var evaluation: PassContext { PassContext(mode: .evaluation) }
}

/// Learns, during a backward pass, which layers' parameter gradients are final for the pass:
/// Sequential reports each child after its backward (in reverse order), containers included.
public protocol BackwardObserver: AnyObject {
    func finishedBackward(_ layer: Layer)
}

/// A layer whose backward pass writes its input gradient as readily as it adds to it: it implements
/// the one pass below (`overwrite`: dx written, whatever it held), and Layer's two come from it.
public protocol InputGradientWriter: Layer {
    func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                  inputGradient dx: UnsafeMutablePointer<Float>?, overwrite: Bool, batch: Int, context: PassContext)
}

extension InputGradientWriter {
    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                         batch: Int, context: PassContext) {
        backward(input: x, output: y, outputGradient: dy, inputGradient: dx, overwrite: false, batch: batch, context: context)
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, overwritingInputGradient dx: UnsafeMutablePointer<Float>,
                         batch: Int, context: PassContext) {
        backward(input: x, output: y, outputGradient: dy, inputGradient: dx, overwrite: true, batch: batch, context: context)
    }
}

/// What a parameter tensor is, which decides how optimizers treat it: weight decay and
/// LARS trust ratios apply to weights only unless told otherwise (llm.c decays 2-D tensors only).
public enum ParameterRole: String, Codable, Sendable {
    case weight, bias, scale, shift
}

/// A named tensor of a layer: a parameter (with its role) or a piece of state.
public struct TensorSpec: Sendable {
    public let name: String
    public let shape: [Int]
    public let role: ParameterRole?

    public init(_ name: String, _ shape: [Int], role: ParameterRole? = nil) {
        self.name = name
        self.shape = shape
        self.role = role
    }

    public var count: Int { shape.reduce(1, *) }
}

/// A layer's own slices of the model's flat buffers (ModelLayout hands them out).
public struct LayerBinding {
    /// Its parameters and, at the same offsets in the gradient buffer, their gradients.
    public let parameters: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    /// Its state that is not trained (running statistics).
    public let state: UnsafeMutablePointer<Float>
    /// Where it adds per-step moments that ride the step's allreduce (BatchNorm's batch statistics).
    public let moments: UnsafeMutablePointer<Float>

    public init(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                state: UnsafeMutablePointer<Float>, moments: UnsafeMutablePointer<Float>) {
        (self.parameters, self.gradients, self.state, self.moments) = (parameters, gradients, state, moments)
    }
}

public protocol Layer: AnyObject {
    /// Per-sample shapes, e.g. [C, H, W] or [F].
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    /// The layer's own parameter tensors in layout order (a container has none: its children do).
    var parameterSpecs: [TensorSpec] { get }
    /// The layer's own state tensors (not trained; saved, broadcast and checksummed with the parameters).
    var stateSpecs: [TensorSpec] { get }
    /// Floats of moments this layer adds per step into the reduction buffer.
    var momentCount: Int { get }
    /// Child layers, named for paths such as "layers.3.body.layers.0.weight".
    var sublayers: [(name: String, layer: Layer)] { get }

    /// Points the layer at its own slices; called once per leaf by ModelLayout.
    func bind(_ binding: LayerBinding)
    /// Writes seeded initial values into its parameters and initial state.
    func initialize(_ rng: inout SplitMix64)
    /// Makes buffers for batches up to `batch` (forward) and `trainingBatch` (backward); never in a step.
    /// Containers reserve their children too.
    func reserve(batch: Int, trainingBatch: Int)
    /// Floats per sample that `reserve` allocates for forward, children included (memory budget of evaluation).
    var activationsPerSample: Int { get }

    /// y (N, outputSize) from x (N, inputSize).
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext)
    /// ADDS parameter gradients and, if dx is given, d(loss)/dx into dx. dy (N, outputSize) is read-only;
    /// x and y are what forward read and wrote. The owner of dx clears it once before a backward pass.
    func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                  outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                  batch: Int, context: PassContext)
    /// The same pass, but d(loss)/dx WRITTEN into dx (N, inputSize) whatever it held, for an owner
    /// whose buffer this layer alone fills (Sequential's inner gradients). The default clears dx and
    /// adds; a layer that can write its gradient in one pass saves that clearing and a read of dx
    /// (resnet8's activations are 6.4 MB at 128 per rank, and those passes are memory-bound).
    func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                  outputGradient dy: UnsafePointer<Float>, overwritingInputGradient dx: UnsafeMutablePointer<Float>,
                  batch: Int, context: PassContext)
    /// After the step's allreduce: folds the summed moments (over `samples` samples in `groups`
    /// ghost groups, all ranks) into the state. Called once per optimizer step on every rank.
    func updateState(samples: Int, groups: Int)

    /// The matrix products one forward and backward pass of `batch` samples makes (for `ddp bench`).
    func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape]
    /// Floating-point operations of one training forward and backward pass of `batch` samples, the
    /// layer's own arithmetic counted (a multiply-add is 2); containers sum their children (for `ddp bench`).
    func flops(batch: Int, inputGradient: Bool) -> PassFlops
}

/// Operations of a forward and a backward pass.
public struct PassFlops: Equatable, Sendable {
    public var forward: Double, backward: Double
    public init(forward: Double, backward: Double) { (self.forward, self.backward) = (forward, backward) }
    public static var zero: PassFlops { PassFlops(forward: 0, backward: 0) }
    public var total: Double { forward + backward }
    public static func + (a: PassFlops, b: PassFlops) -> PassFlops {
        PassFlops(forward: a.forward + b.forward, backward: a.backward + b.backward)
    }
}

extension Layer {
    // Index loops, not reduce: the generic iterator allocates in unoptimised builds, and passes ask for sizes.
    public var inputSize: Int { elementCount(inputShape) }
    public var outputSize: Int { elementCount(outputShape) }
    public var parameterSpecs: [TensorSpec] { [] }
    public var stateSpecs: [TensorSpec] { [] }
    public var momentCount: Int { 0 }
    public var sublayers: [(name: String, layer: Layer)] { [] }
    public var activationsPerSample: Int { 0 }
    public func bind(_ binding: LayerBinding) {}
    public func initialize(_ rng: inout SplitMix64) {}
    public func reserve(batch: Int, trainingBatch: Int) {}
    public func updateState(samples: Int, groups: Int) {}
    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, overwritingInputGradient dx: UnsafeMutablePointer<Float>,
                         batch: Int, context: PassContext) {
        dx.update(repeating: 0, count: batch * inputSize)
        backward(input: x, output: y, outputGradient: dy, inputGradient: dx, batch: batch, context: context)
    }
    public func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape] { [] }
    /// An elementwise layer's: one operation per output value forward, one per input value backward.
    public func flops(batch: Int, inputGradient: Bool) -> PassFlops {
        PassFlops(forward: Double(batch * outputSize), backward: inputGradient ? Double(batch * inputSize) : 0)
    }

    public var parameterCount: Int { parameterSpecs.reduce(0) { $0 + $1.count } }
}

@inline(__always)
func elementCount(_ shape: [Int]) -> Int {
    var count = 1
    for i in 0..<shape.count { count *= shape[i] }
    return count
}
