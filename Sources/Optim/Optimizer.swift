// An optimizer updates the flat parameter buffer from the flat gradient buffer, which holds
// gradient SUMS over the global batch; `gradientScale` (1 / global count) makes them means.
// Its state lives in buffers of the same layout, so a checkpoint is one write per buffer.

import Foundation
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

/// The end of the buffer that `segments` tile in order from 0 (a precondition: per-tensor optimizers
/// need one segment per tensor, in layout order, with no gap), after checking one flag per segment.
func tiledCount(_ segments: [Range<Int>], flags: [Bool]?, optimizer: String) -> Int {
    precondition(flags == nil || flags!.count == segments.count, "one adapted flag per \(optimizer) segment")
    var end = 0
    for (index, segment) in segments.enumerated() {
        precondition(segment.lowerBound == end,
                     "\(optimizer) segment \(index) starts at \(segment.lowerBound), expected \(end): segments must tile the buffer in order")
        end = segment.upperBound
    }
    return end
}

/// Adam's bias corrections 1 - b1^t and 1 - b2^t at step t (1-based).
func biasCorrections(beta1: Float, beta2: Float, step: Int) -> (Float, Float) {
    (1 - Float(pow(Double(beta1), Double(step))), 1 - Float(pow(Double(beta2), Double(step))))
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
