// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay,
// following PyTorch's torch.optim.SGD (Sutskever et al. 2013 form):
//   g = grad + wd * p;  v = mu * v + g;  g' = nesterov ? g + mu * v : v;  p -= lr * g'
import Tensor

public final class SGD: Optimizer {
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    /// Velocity, same layout as the parameters.
    public let velocity: FloatBuffer
    public var stateBuffers: [FloatBuffer] { [velocity] }
    public var counters: [Int] { get { [] } set {} }

    public init(parameterCount: Int, momentum: Float, nesterov: Bool, weightDecay: Float) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.velocity = FloatBuffer(count: parameterCount)
    }

    public func step(parameters p: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                     gradientScale scale: Float, learningRate lr: Float) {
        let v = velocity.pointer
        let (mu, wd) = (momentum, weightDecay)
        if mu == 0 {
            for i in 0..<velocity.count { p[i] -= lr * (scale * gradients[i] + wd * p[i]) }
            return
        }
        for i in 0..<velocity.count {
            let g = scale * gradients[i] + wd * p[i]
            v[i] = mu * v[i] + g
            p[i] -= lr * (nesterov ? g + mu * v[i] : v[i])
        }
    }
}
