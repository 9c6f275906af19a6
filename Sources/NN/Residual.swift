// A residual block (He et al. 2016): y = relu(body(x) + shortcut(x)), the shortcut the identity
// or a projection (1 x 1 convolution with stride, and BatchNorm) when stride or width change.
// Backward is a fork: the body's part goes into dx (written when dx is the block's alone), then
// the shortcut ADDS its part, so it needs no copy.
// Shapes: x (N, C, H, W), y (N, F, H / S, W / S).
import Tensor

public final class Residual: InputGradientWriter {
    public let body: Layer
    /// nil: the identity.
    public let shortcut: Layer?
    public let activation: Dense.Activation
    /// body(x) and shortcut(x) (batch, out); their gradient after the ReLU (trainingBatch, out).
    private var bodyOutput = FloatBuffer(count: 0)
    private var shortcutOutput = FloatBuffer(count: 0)
    private var sumGradient = FloatBuffer(count: 0)
    /// The body, if its last BatchNorm takes the sum and its ReLU in its normalising pass
    /// (Sequential.residualSumFolder): the body's output is then neither written nor read back
    /// (backward on planes does not read it), and resnet8's blocks save two passes over 6.4 MB each.
    private let foldedBody: Sequential?

    public init(body: Layer, shortcut: Layer?, activation: Dense.Activation = .relu) {
        precondition(shortcut.map { $0.inputSize == body.inputSize && $0.outputSize == body.outputSize }
                     ?? (body.inputSize == body.outputSize), "a residual block's branches must agree in shape")
        self.body = body
        self.shortcut = shortcut
        self.activation = activation
        foldedBody = activation == .relu ? (body as? Sequential).flatMap { $0.residualSumFolder == nil ? nil : $0 } : nil
    }

    public var inputShape: [Int] { body.inputShape }
    public var outputShape: [Int] { body.outputShape }
    public var sublayers: [(name: String, layer: Layer)] {
        [("body", body)] + (shortcut.map { [("shortcut", $0)] } ?? [])
    }

    public var activationsPerSample: Int {
        outputSize * (shortcut == nil ? 1 : 2) + body.activationsPerSample + (shortcut?.activationsPerSample ?? 0)
    }

    public func reserve(batch: Int, trainingBatch: Int) {
        bodyOutput = FloatBuffer(count: batch * outputSize)
        shortcutOutput = FloatBuffer(count: shortcut == nil ? 0 : batch * outputSize)
        sumGradient = FloatBuffer(count: trainingBatch * outputSize)
        body.reserve(batch: batch, trainingBatch: trainingBatch)
        shortcut?.reserve(batch: batch, trainingBatch: trainingBatch)
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        let count = batch * outputSize
        if let chain = foldedBody {
            var other = x
            if let shortcut {
                shortcut.forward(x, into: shortcutOutput.pointer, batch: batch, context: context)
                other = UnsafePointer(shortcutOutput.pointer)
            }
            return chain.forward(x, into: y, batch: batch, context: context, addingThenReLU: other)
        }
        body.forward(x, into: bodyOutput.pointer, batch: batch, context: context)
        let other: UnsafePointer<Float>
        if let shortcut {
            shortcut.forward(x, into: shortcutOutput.pointer, batch: batch, context: context)
            other = UnsafePointer(shortcutOutput.pointer)
        } else {
            other = x
        }
        let sum = UnsafePointer(bodyOutput.pointer)
        if activation == .relu {
            addApplyingReLU(sum, other, into: y, count: count)
        } else {
            for i in 0..<count { y[i] = sum[i] + other[i] }
        }
    }

    /// The body writes dx (or adds), then the shortcut adds.
    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, overwrite: Bool, batch: Int, context: PassContext) {
        let count = batch * outputSize
        var gradient = dy
        if activation == .relu {
            maskReLUGradient(dy, output: y, into: sumGradient.pointer, count: count)
            gradient = UnsafePointer(sumGradient.pointer)
        }
        if overwrite, let dx {
            body.backward(input: x, output: bodyOutput.pointer, outputGradient: gradient, overwritingInputGradient: dx,
                          batch: batch, context: context)
        } else {
            body.backward(input: x, output: bodyOutput.pointer, outputGradient: gradient, inputGradient: dx, batch: batch, context: context)
        }
        if let shortcut {
            shortcut.backward(input: x, output: shortcutOutput.pointer, outputGradient: gradient, inputGradient: dx,
                              batch: batch, context: context)
        } else if let dx {
            for i in 0..<count { dx[i] += gradient[i] }
        }
    }

    public func flops(batch: Int, inputGradient: Bool) -> PassFlops {
        let own = Double(batch * outputSize)
        return PassFlops(forward: 2 * own, backward: own * (inputGradient && shortcut == nil ? 2 : 1))
            + body.flops(batch: batch, inputGradient: inputGradient)
            + (shortcut?.flops(batch: batch, inputGradient: inputGradient) ?? .zero)
    }

    public func matrixProducts(batch: Int, inputGradient: Bool) -> [GEMMShape] {
        body.matrixProducts(batch: batch, inputGradient: inputGradient)
            + (shortcut?.matrixProducts(batch: batch, inputGradient: inputGradient) ?? [])
    }
}
