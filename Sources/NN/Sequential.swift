// A chain of layers, itself a layer (so blocks nest). It owns the activations between its
// children and their gradients, made once by `reserve`; its own input and output belong to its owner.
import Tensor

public final class Sequential: InputGradientWriter {
    public let layers: [Layer]
    /// inner[i] is layer i's output for i < count - 1 (the last writes the owner's y).
    private var inner: [FloatBuffer] = []
    /// innerGradients[i] is d(loss)/d(inner[i]).
    private var innerGradients: [FloatBuffer] = []
    /// pairs[i]: layers i and i + 1 run together, sample by sample (ConvPoolPair says why and when);
    /// inner[i] and innerGradients[i] are then not used.
    private let pairs: [ConvPoolPair?]
    /// The last child, if a BatchNorm that can take a residual block's sum (BatchNorm.foldsResidualSum).
    let residualSumFolder: BatchNorm?

    public init(layers: [Layer]) {
        precondition(!layers.isEmpty, "a chain needs at least one layer")
        for (previous, next) in zip(layers, layers.dropFirst()) {
            precondition(previous.outputSize == next.inputSize, "layer sizes do not chain: \(previous.outputShape) -> \(next.inputShape)")
        }
        self.layers = layers
        pairs = layers.indices.map { i in
            ConvPoolPair.enabled && i + 1 < layers.count ? ConvPoolPair(layers[i], layers[i + 1]) : nil
        }
        residualSumFolder = (layers[layers.count - 1] as? BatchNorm).flatMap { $0.foldsResidualSum ? $0 : nil }
    }

    /// How many convolution-and-pool pairs run together (tests).
    var fusedPairs: Int { pairs.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    public var inputShape: [Int] { layers[0].inputShape }
    public var outputShape: [Int] { layers[layers.count - 1].outputShape }
    public var sublayers: [(name: String, layer: Layer)] { layers.enumerated().map { ("layers.\($0.offset)", $0.element) } }

    public var activationsPerSample: Int {
        layers.dropLast().reduce(0) { $0 + $1.outputSize } + layers.reduce(0) { $0 + $1.activationsPerSample }
    }

    public func reserve(batch: Int, trainingBatch: Int) {
        inner = layers.dropLast().map { FloatBuffer(count: batch * $0.outputSize) }
        innerGradients = layers.dropLast().map { FloatBuffer(count: trainingBatch * $0.outputSize) }
        for layer in layers { layer.reserve(batch: batch, trainingBatch: trainingBatch) }
        for pair in pairs { pair?.reserve() }
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        forward(x, into: y, batch: batch, context: context, addingThenReLU: nil)
    }

    /// With `addend`: y = relu(chain(x) + addend), the sum taken by the last child (residualSumFolder).
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext,
                 addingThenReLU addend: UnsafePointer<Float>?) {
        // Index loops: enumerated() over existentials allocates per element in unoptimised builds.
        let last = layers.count - 1
        var index = 0
        while index <= last {
            defer { index += 1 }
            let input = index == 0 ? x : UnsafePointer(inner[index - 1].pointer)
            if let pair = pairs[index] {
                index += 1
                pair.forward(input, into: index == last ? y : inner[index].pointer, batch: batch)
                continue
            }
            let output = index == last ? y : inner[index].pointer
            let start = LayerProfiler.active == nil ? 0 : monotonicSeconds()
            if index == last, let addend {
                residualSumFolder!.forward(input, into: output, batch: batch, context: context, addingThenReLU: addend)
            } else {
                layers[index].forward(input, into: output, batch: batch, context: context)
            }
            LayerProfiler.active?.add(layers[index], backward: false, seconds: monotonicSeconds() - start)
        }
    }

    /// The children from the last; each inner gradient is written by the one child that owns it
    /// (Layer's overwriting pass), and the chain's own dx is written or added as asked (`overwrite`).
    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, overwrite: Bool, batch: Int, context: PassContext) {
        let last = layers.count - 1
        var index = last
        while index >= 0 {
            defer { index -= 1 }
            let output = index == last ? y : UnsafePointer(inner[index].pointer)
            let outputGradient = index == last ? dy : UnsafePointer(innerGradients[index].pointer)
            let pair = index > 0 ? pairs[index - 1] : nil
            if pair != nil { index -= 1 }
            let layer = layers[index]
            let input = index == 0 ? x : UnsafePointer(inner[index - 1].pointer)
            // Written, not added: an inner gradient (its one writer is this child), or dx when asked.
            let written = index > 0 ? innerGradients[index - 1].pointer : overwrite ? dx : nil
            if let pair {
                if let written { written.update(repeating: 0, count: batch * layer.inputSize) }
                pair.backward(input: input, poolOutput: output, outputGradient: outputGradient, inputGradient: written ?? dx, batch: batch)
                context.backwardObserver?.finishedBackward(pair.pool)
                context.backwardObserver?.finishedBackward(pair.conv)
                continue
            }
            let start = LayerProfiler.active == nil ? 0 : monotonicSeconds()
            if let written {
                layer.backward(input: input, output: output, outputGradient: outputGradient, overwritingInputGradient: written,
                               batch: batch, context: context)
            } else {
                layer.backward(input: input, output: output, outputGradient: outputGradient, inputGradient: dx,
                               batch: batch, context: context)
            }
            LayerProfiler.active?.add(layer, backward: true, seconds: monotonicSeconds() - start)
            context.backwardObserver?.finishedBackward(layer)
        }
    }

    public func flops(batch: Int, inputGradient: Bool) -> PassFlops {
        layers.enumerated().reduce(.zero) { $0 + $1.element.flops(batch: batch, inputGradient: $1.offset > 0 || inputGradient) }
    }

    public func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape] {
        layers.enumerated().flatMap { index, layer in
            layer.matrixProducts(batch: batch, inputGradient: index > 0 || inputGradient)
        }
    }
}
