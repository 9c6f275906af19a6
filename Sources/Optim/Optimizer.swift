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

/// (range, weight decay) segments tiling 0 ..< count: `weightDecay` on the `decayed` ranges (all if nil), 0 elsewhere.
func decaySegments(count: Int, decayed: [Range<Int>]?, weightDecay: Float) -> [(range: Range<Int>, decay: Float)] {
    guard let decayed, weightDecay != 0 else { return [(0..<count, weightDecay)] }
    var segments: [(range: Range<Int>, decay: Float)] = []
    var position = 0
    for range in decayed.sorted(by: { $0.lowerBound < $1.lowerBound }) {
        precondition(range.lowerBound >= position && range.upperBound <= count, "decayed ranges must be disjoint and inside the buffer")
        if range.lowerBound > position { segments.append((position..<range.lowerBound, 0)) }
        segments.append((range, weightDecay))
        position = range.upperBound
    }
    if position < count { segments.append((position..<count, 0)) }
    return segments
}
