// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay,
// following PyTorch's torch.optim.SGD (Sutskever et al. 2013 form):
//   g = grad + wd * p;  v = mu * v + g;  g' = nesterov ? g + mu * v : v;  p -= lr * g'
// wd applies to the segments `decayed` names (by default every weight tensor, not biases or
// normalization parameters: see OptimizerKind.make).
import Tensor

public final class SGD: Optimizer {
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    /// (range, weight decay) covering the buffer in order.
    let segments: [(range: Range<Int>, decay: Float)]
    /// Velocity, same layout as the parameters.
    public let velocity: FloatBuffer
    public var stateBuffers: [FloatBuffer] { [velocity] }
    public var counters: [Int] { get { [] } set {} }

    /// `decayed`: the ranges weight decay applies to (nil: all).
    public init(parameterCount: Int, momentum: Float, nesterov: Bool, weightDecay: Float, decayed: [Range<Int>]? = nil) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.velocity = FloatBuffer(count: parameterCount)
        self.segments = decaySegments(count: parameterCount, decayed: decayed, weightDecay: weightDecay)
    }

    public func step(parameters p: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                     gradientScale scale: Float, learningRate lr: Float) {
        let v = velocity.pointer
        let mu = momentum
        for segment in 0..<segments.count {
            let (range, wd) = segments[segment]
            if mu == 0 {
                for i in range { p[i] -= lr * (scale * gradients[i] + wd * p[i]) }
                continue
            }
            for i in range {
                let g = scale * gradients[i] + wd * p[i]
                v[i] = mu * v[i] + g
                p[i] -= lr * (nesterov ? g + mu * v[i] : v[i])
            }
        }
    }
}
