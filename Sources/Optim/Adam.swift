// Adam (Kingma & Ba 2015, Algorithm 1) with bias correction, and AdamW (Loshchilov & Hutter 2019):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// Adam's weight decay is L2 added to g (torch.optim.Adam); AdamW's is decoupled: p -= lr * wd * p first.
// With Adam, scale the rate by sqrt of the batch ratio (Hoffer et al. 2017; Malladi et al. 2022).
import Foundation
import Tensor

public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let decoupled: Bool
    /// (range, weight decay) covering the buffer in order.
    let segments: [(range: Range<Int>, decay: Float)]
    /// First and second moment estimates, same layout as the parameters.
    public let m: FloatBuffer, v: FloatBuffer
    public private(set) var stepCount = 0
    public var stateBuffers: [FloatBuffer] { [m, v] }
    public var counters: [Int] {
        get { [stepCount] }
        set { stepCount = newValue.first ?? 0 }
    }

    public init(parameterCount: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false, decayed: [Range<Int>]? = nil) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        m = FloatBuffer(count: parameterCount)
        v = FloatBuffer(count: parameterCount)
        segments = decaySegments(count: parameterCount, decayed: decayed, weightDecay: weightDecay)
    }

    public func step(parameters p: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                     gradientScale scale: Float, learningRate lr: Float) {
        stepCount += 1
        let (correction1, correction2) = biasCorrections(beta1: beta1, beta2: beta2, step: stepCount)
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let (m, v) = (m.pointer, v.pointer)
        for segment in 0..<segments.count {
            let (range, wd) = segments[segment]
            let l2: Float = decoupled ? 0 : wd
            let shrink: Float = decoupled ? 1 - lr * wd : 1
            // Eight at a time, then one at a time: the same operations in the same order (each is
            // rounded lane by lane as alone), so the same bits; the scalar loop's divisions and square
            // root took 0.28 ms a step for the seed CNN's 54 K parameters.
            var i = range.lowerBound
            let (gRaw, pRaw, mRaw, vRaw) = (UnsafeRawPointer(gradients), UnsafeMutableRawPointer(p), UnsafeMutableRawPointer(m),
                                            UnsafeMutableRawPointer(v))
            while i + 8 <= range.upperBound {
                let offset = 4 * i
                let pi = pRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                let g = scale * gRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) + l2 * pi
                let mi = b1 * mRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) + (1 - b1) * g
                let vi = b2 * vRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) + (1 - b2) * g * g
                mRaw.storeBytes(of: mi, toByteOffset: offset, as: SIMD8<Float>.self)
                vRaw.storeBytes(of: vi, toByteOffset: offset, as: SIMD8<Float>.self)
                pRaw.storeBytes(of: shrink * pi - lr * (mi / correction1) / ((vi / correction2).squareRoot() + eps),
                                toByteOffset: offset, as: SIMD8<Float>.self)
                i += 8
            }
            while i < range.upperBound {
                let g = scale * gradients[i] + l2 * p[i]
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                p[i] = shrink * p[i] - lr * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps)
                i += 1
            }
        }
    }
}
