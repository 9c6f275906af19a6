// An optimizer updates the flat parameter buffer from the flat gradient buffer, which holds
// gradient SUMS over the global batch; `gradientScale` (1 / global count) makes them means.
// Its state lives in buffers of the same layout, so a checkpoint is one write per buffer.

import Tensor

public protocol Optimizer: AnyObject {
    /// parameters[i] -= update(gradientScale * gradients[i]), at this step's learning rate.
    func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
              gradientScale: Float, learningRate: Float)

    /// Everything the next step depends on besides the parameters, for checkpoints: buffers in the
    /// parameter layout (velocity; Adam's moments) and integer counters (Adam's step count).
    var stateBuffers: [FloatBuffer] { get }
    var counters: [Int] { get set }
}
