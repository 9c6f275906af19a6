// A stack of layers with its activation and activation-gradient buffers made once for the
// largest batch. The trainer writes a batch into `input`, calls forward, fills `outputGradient`
// from the loss, and calls backward; parameter gradients accumulate into the bound buffer.
import Tensor

public final class Sequential {
    public let layers: [Layer]
    public let layout: ParameterLayout
    public private(set) var capacity = 0
    public private(set) var trainingCapacity = 0
    /// activations[0] is the input (N, inputSize); activations[i + 1] is layer i's output.
    private var activations: [FloatBuffer] = []
    /// gradients[i] is d(loss)/d(activations[i]) for i >= 1.
    private var activationGradients: [FloatBuffer] = []

    public init(layers: [Layer]) {
        precondition(!layers.isEmpty, "a model needs at least one layer")
        for (previous, next) in zip(layers, layers.dropFirst()) {
            precondition(previous.outputSize == next.inputSize, "layer sizes do not chain")
        }
        self.layers = layers
        self.layout = ParameterLayout(layers: layers)
    }

    public var inputSize: Int { layers[0].inputSize }
    /// Floats of activation one sample needs, input included (what `reserve` multiplies by the batch).
    public var activationsPerSample: Int { inputSize + layers.reduce(0) { $0 + $1.outputSize } }
    public var outputSize: Int { layers[layers.count - 1].outputSize }

    /// Makes every buffer: activations for batches up to `batch` (evaluation may use more than
    /// training), activation gradients for `trainingBatch`. Never called inside a step.
    public func reserve(batch: Int, trainingBatch: Int? = nil) {
        let training = min(trainingBatch ?? batch, batch)
        guard batch > capacity || training > trainingCapacity else { return }
        capacity = batch
        trainingCapacity = training
        let sizes = [inputSize] + layers.map(\.outputSize)
        activations = sizes.map { FloatBuffer(count: batch * $0) }
        activationGradients = sizes.map { FloatBuffer(count: training * $0) }
        for layer in layers { layer.reserve(batch: batch) }
    }

    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        for (layer, offset) in zip(layers, layerOffsets) {
            layer.bind(parameters: parameters + offset, gradients: gradients + offset)
        }
    }

    public func initialize(seed: UInt64) {
        for (index, layer) in layers.enumerated() {
            var rng = SplitMix64(seed: seed, stream: 1, index: UInt64(index))
            layer.initialize(&rng)
        }
    }

    /// Where the trainer writes the batch (N, inputSize).
    public var input: UnsafeMutablePointer<Float> { activations[0].pointer }
    /// Where the loss writes d(loss)/d(logits) (N, outputSize).
    public var outputGradient: UnsafeMutablePointer<Float> { activationGradients[layers.count].pointer }

    /// Runs every layer; returns the logits (N, outputSize).
    @discardableResult
    public func forward(batch: Int, training: Bool) -> UnsafeMutablePointer<Float> {
        precondition(batch <= capacity, "batch \(batch) exceeds reserved capacity \(capacity)")
        // Index loops: enumerated() over existentials allocates per element in unoptimised builds.
        for index in 0..<layers.count {
            layers[index].forward(activations[index].pointer, into: activations[index + 1].pointer, batch: batch, training: training)
        }
        return activations[layers.count].pointer
    }

    public func backward(batch: Int) {
        precondition(batch <= trainingCapacity, "batch \(batch) exceeds reserved training capacity \(trainingCapacity)")
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            layers[index].backward(input: activations[index].pointer,
                                   output: activations[index + 1].pointer,
                                   outputGradient: activationGradients[index + 1].pointer,
                                   inputGradient: index == 0 ? nil : activationGradients[index].pointer,
                                   batch: batch)
        }
    }

    /// Every matrix product of one training pass over `batch` samples (the first layer makes no dx).
    public func matrixProducts(batch: Int) -> [GEMMShape] {
        layers.enumerated().flatMap { index, layer in layer.matrixProducts(batch: batch, inputGradient: index > 0) }
    }

    private var layerOffsets: [Int] {
        var offsets: [Int] = []
        var offset = 0
        for layer in layers {
            offsets.append(offset)
            offset += layer.parameterCount
        }
        return offsets
    }
}
