// LARS, layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017, "Large Batch Training of
// Convolutional Networks", Algorithm 1). Per segment l of the flat buffer (one parameter tensor):
//   g = grad + wd * w;  local = eta * |w| / (|grad| + wd * |w|)  (1 if |w| or |grad| is 0);
//   v = m * v + lr * local * g;  w -= v
// grad is the mean gradient (gradientScale * the sums). The rate sits inside the velocity, as in the paper.
// Segments that are not `adapted` (biases and normalization parameters by default, as in LARC and
// later LARS implementations) take local = 1 and no weight decay: plain momentum SGD.
// The schedule (the paper's polynomial decay, warmup) is the LRSchedule's business.
import Tensor

public final class LARS: Optimizer {
    public let momentum: Float, trustCoefficient: Float, weightDecay: Float
    /// The parameter tensors, in layout order, tiling 0 ..< parameter count.
    public let segments: [Range<Int>]
    /// Per segment: whether the trust ratio and weight decay apply.
    public let adapted: [Bool]
    /// Velocity, same layout as the parameters.
    public let velocity: FloatBuffer
    public var stateBuffers: [FloatBuffer] { [velocity] }
    public var counters: [Int] { get { [] } set {} }

    public init(segments: [Range<Int>], adapted: [Bool]? = nil, momentum: Float = 0.9, trustCoefficient: Float = 0.001,
                weightDecay: Float = 0) {
        let end = tiledCount(segments, flags: adapted, optimizer: "LARS")
        precondition(trustCoefficient > 0, "LARS trust coefficient must be positive (got \(trustCoefficient))")
        self.momentum = momentum
        self.trustCoefficient = trustCoefficient
        self.weightDecay = weightDecay
        self.segments = segments
        self.adapted = adapted ?? segments.map { _ in true }
        velocity = FloatBuffer(count: end)
    }

    public func step(parameters p: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                     gradientScale scale: Float, learningRate lr: Float) {
        let v = velocity.pointer
        let (mu, eta) = (momentum, trustCoefficient)
        for index in 0..<segments.count {
            let segment = segments[index]
            let (start, count) = (segment.lowerBound, segment.count)
            let wd = adapted[index] ? weightDecay : 0
            let (weightSquares, gradientSquares) = LARS.sumsOfSquares(p + start, gradients + start, count: count)
            let weightNorm = weightSquares.squareRoot()
            let gradientNorm = scale * gradientSquares.squareRoot()
            let local = adapted[index] && weightNorm > 0 && gradientNorm > 0 ? eta * weightNorm / (gradientNorm + wd * weightNorm) : 1
            let rate = lr * local
            for i in segment {
                v[i] = mu * v[i] + rate * (scale * gradients[i] + wd * p[i])
                p[i] -= v[i]
            }
        }
    }

    /// (sum of a[i]^2, sum of b[i]^2) over 0 ..< count, in eight lanes so that it vectorises.
    @inline(__always)
    static func sumsOfSquares(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> (Float, Float) {
        var (laneA, laneB) = (SIMD8<Float>(), SIMD8<Float>())
        let (rawA, rawB) = (UnsafeRawPointer(a), UnsafeRawPointer(b))
        let stride = MemoryLayout<Float>.stride
        var i = 0
        while i + 8 <= count {
            let x = rawA.loadUnaligned(fromByteOffset: i * stride, as: SIMD8<Float>.self)
            let y = rawB.loadUnaligned(fromByteOffset: i * stride, as: SIMD8<Float>.self)
            laneA += x * x   // not addProduct: a fused multiply-add is a libm call per lane without FMA
            laneB += y * y
            i += 8
        }
        var (sumA, sumB) = (laneA.sum(), laneB.sum())
        while i < count {
            sumA += a[i] * a[i]
            sumB += b[i] * b[i]
            i += 1
        }
        return (sumA, sumB)
    }
}
