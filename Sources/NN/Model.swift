// A whole network: a layer tree over flat buffers. It owns the input, the logits and their
// gradient; the trainer owns the flat parameter, gradient (reduction) and state buffers and binds
// them here. The trainer writes a batch into `input`, calls forward, fills `outputGradient` from the
// loss, and calls backward; parameter gradients and BatchNorm moments ADD into the bound buffers.
import Tensor

public final class Model {
    public let root: Layer
    public let layout: ParameterLayout
    public private(set) var capacity = 0
    public private(set) var trainingCapacity = 0
    private var inputBuffer = FloatBuffer(count: 0)
    private var logits = FloatBuffer(count: 0)
    private var logitGradients = FloatBuffer(count: 0)

    /// Layers whose state follows the per-step moments (found once: walking the tree builds path strings).
    private let layersWithMoments: [Layer]

    public init(root: Layer) {
        self.root = root
        self.layout = ParameterLayout(root: root)
        var withMoments: [Layer] = []
        LayerTree.walk(root) { node in if node.layer.momentCount > 0 { withMoments.append(node.layer) } }
        layersWithMoments = withMoments
    }

    public convenience init(layers: [Layer]) {
        self.init(root: Sequential(layers: layers))
    }

    public var inputSize: Int { root.inputSize }
    public var outputSize: Int { root.outputSize }
    /// Floats of activation one sample needs in a forward pass, input and logits included.
    public var activationsPerSample: Int { root.inputSize + root.outputSize + root.activationsPerSample }

    /// Makes every buffer: activations for batches up to `batch` (evaluation may use more than
    /// training), gradients and saved statistics for `trainingBatch`. Never called inside a step.
    public func reserve(batch: Int, trainingBatch: Int? = nil) {
        let training = min(trainingBatch ?? batch, batch)
        guard batch > capacity || training > trainingCapacity else { return }
        capacity = batch
        trainingCapacity = training
        inputBuffer = FloatBuffer(count: batch * root.inputSize)
        logits = FloatBuffer(count: batch * root.outputSize)
        logitGradients = FloatBuffer(count: training * root.outputSize)
        root.reserve(batch: batch, trainingBatch: training)
    }

    /// Points every layer at its slices. `state` holds layout.stateCount floats; `moments`
    /// layout.momentCount (in the trainer: the head of the reduction buffer, before the gradients).
    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                     state: UnsafeMutablePointer<Float>? = nil, moments: UnsafeMutablePointer<Float>? = nil) {
        precondition(layout.stateCount == 0 || state != nil, "this model has state: bind a state buffer")
        precondition(layout.momentCount == 0 || moments != nil, "this model has moments: bind a moment buffer")
        let (state, moments) = (state ?? parameters, moments ?? gradients)
        LayerTree.walk(root) { node in
            node.layer.bind(LayerBinding(parameters: parameters + node.start.parameters, gradients: gradients + node.start.parameters,
                                         state: state + node.start.state, moments: moments + node.start.moments))
        }
    }

    /// Seeded initial parameters and state; leaf i draws from stream (seed, 1, i).
    public func initialize(seed: UInt64) {
        LayerTree.walk(root) { node in
            guard let index = node.leafIndex else { return }
            var rng = SplitMix64(seed: seed, stream: 1, index: UInt64(index))
            node.layer.initialize(&rng)
        }
    }

    /// Where the trainer writes the batch (N, inputSize).
    public var input: UnsafeMutablePointer<Float> { inputBuffer.pointer }
    /// Where the loss writes d(loss)/d(logits) (N, outputSize).
    public var outputGradient: UnsafeMutablePointer<Float> { logitGradients.pointer }

    /// Runs every layer; returns the logits (N, outputSize).
    @discardableResult
    public func forward(batch: Int, context: PassContext) -> UnsafeMutablePointer<Float> {
        precondition(batch <= capacity, "batch \(batch) exceeds reserved capacity \(capacity)")
        root.forward(inputBuffer.pointer, into: logits.pointer, batch: batch, context: context)
        return logits.pointer
    }

    /// Gradients of the loss whose logit gradient is in `outputGradient`, added into the bound buffers.
    public func backward(batch: Int, context: PassContext) {
        precondition(batch <= trainingCapacity, "batch \(batch) exceeds reserved training capacity \(trainingCapacity)")
        root.backward(input: inputBuffer.pointer, output: logits.pointer, outputGradient: logitGradients.pointer,
                      inputGradient: nil, batch: batch, context: context)
    }

    /// After the allreduce: every layer with moments folds them into its state (see Layer.updateState).
    public func updateState(samples: Int, groups: Int) {
        for index in 0..<layersWithMoments.count {
            layersWithMoments[index].updateState(samples: samples, groups: groups)
        }
    }

    /// Operations of one training pass over `batch` samples: every layer's, and the softmax
    /// cross-entropy's (about 6 per logit: max, shift, exp, sum, scale, the label's subtraction).
    public func flops(batch: Int) -> PassFlops {
        root.flops(batch: batch, inputGradient: false) + PassFlops(forward: 6 * Double(batch * outputSize), backward: 0)
    }

    /// Every matrix product of one training pass over `batch` samples (the first layer makes no dx).
    public func matrixProducts(batch: Int) -> [GEMMShape] {
        root.matrixProducts(batch: batch, inputGradient: false)
    }
}
