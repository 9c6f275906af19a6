// LAMB, layer-wise adaptive moments (You et al. 2019, "Large Batch Optimization for Deep Learning:
// Training BERT in 76 Minutes", Algorithm 2), per segment l of the flat buffer (one tensor):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  r = m-hat / (sqrt(v-hat) + eps) + wd w;
//   w -= lr * (|w| / |r|) * r        (ratio 1 when |w| or |r| is 0; phi is the identity)
// with m-hat, v-hat Adam's bias-corrected moments and g the mean gradient (gradientScale x sums).
// Segments that are not `adapted` (biases and normalization parameters by default) take ratio 1 and
// no decay: a plain Adam step. Two passes per segment (norms, then update) so nothing is stored.
import Tensor

public final class LAMB: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    /// The parameter tensors, in layout order, tiling 0 ..< parameter count.
    public let segments: [Range<Int>]
    /// Per segment: whether the trust ratio and weight decay apply.
    public let adapted: [Bool]
    /// First and second moment estimates, same layout as the parameters.
    public let m: FloatBuffer, v: FloatBuffer
    public private(set) var stepCount = 0
    public var stateBuffers: [FloatBuffer] { [m, v] }
    public var counters: [Int] {
        get { [stepCount] }
        set { stepCount = newValue.first ?? 0 }
    }

    public init(segments: [Range<Int>], adapted: [Bool]? = nil, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-6, weightDecay: Float = 0) {
        let end = tiledCount(segments, flags: adapted, optimizer: "LAMB")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.segments = segments
        self.adapted = adapted ?? segments.map { _ in true }
        m = FloatBuffer(count: end)
        v = FloatBuffer(count: end)
    }

    public func step(parameters p: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                     gradientScale scale: Float, learningRate lr: Float) {
        stepCount += 1
        let (correction1, correction2) = biasCorrections(beta1: beta1, beta2: beta2, step: stepCount)
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let (m, v) = (m.pointer, v.pointer)
        for index in 0..<segments.count {
            let segment = segments[index]
            let wd = adapted[index] ? weightDecay : 0
            // Pass 1: moments, and the norms of w and of the update r.
            var (weightSquares, updateSquares): (Float, Float) = (0, 0)
            for i in segment {
                let g = scale * gradients[i]
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                let r = (m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps) + wd * p[i]
                weightSquares += p[i] * p[i]
                updateSquares += r * r
            }
            let (weightNorm, updateNorm) = (weightSquares.squareRoot(), updateSquares.squareRoot())
            let ratio = adapted[index] && weightNorm > 0 && updateNorm > 0 ? weightNorm / updateNorm : 1
            let rate = lr * ratio
            // Pass 2: the update, recomputed from the moments just stored.
            for i in segment {
                let r = (m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps) + wd * p[i]
                p[i] -= rate * r
            }
        }
    }
}
