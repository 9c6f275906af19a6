// An optimizer updates the flat parameter buffer from the flat gradient buffer, which holds
// gradient SUMS over the global batch; `gradientScale` (1 / global count) makes them means.
// Its state lives in buffers of the same layout, so a checkpoint is one write per buffer.

public protocol Optimizer: AnyObject {
    /// parameters[i] -= update(gradientScale * gradients[i]), at this step's learning rate.
    func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
              gradientScale: Float, learningRate: Float)
}
