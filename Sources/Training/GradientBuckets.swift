// Gradient buckets (PyTorch DDP's buckets, Horovod's tensor fusion), so the allreduce runs behind
// backward: the gradient part of the reduction buffer is cut, from its end, into ranges of about
// --bucket-kb at parameter-tensor boundaries, since backward finishes the last layers first. As
// the last micro-batch's backward reports layers done (BackwardObserver), every bucket whose range
// is final goes to the communication thread, in order. The last bucket (the first layers') goes
// with the head of the reduction buffer just before it, the BatchNorm moments and the tail, which
// are complete only after the pass: one message, not two (`postLast`). Every rank posts the same
// ranges in the same order whatever its batch: a rank with nothing to run posts them at the end.
// Each element is summed by one MPI_Allreduce over the same ranks as without buckets; with two
// ranks a sum is one commutative addition, so the result is bit-identical (more ranks: see README).
import Collective
import NN
import Tensor

final class GradientBuckets: BackwardObserver {
    private let background: BackgroundAllreduce
    private let gradients: UnsafeMutablePointer<Float>
    /// Floats just before `gradients` that go with the last bucket.
    private let head: Int
    /// The last bucket's |g|^2 is added (once) when the pass ends.
    private var flushed = false
    private let tensors: [Range<Int>]
    /// Bucket i is boundaries[i + 1] ..< boundaries[i]: boundaries[0] = P (all gradients), last = 0.
    let boundaries: [Int]
    /// Every layer's (subtree's) parameter range, by identity.
    private let ranges: [ObjectIdentifier: Range<Int>]
    /// ready ..< P is final for this pass.
    private var ready = 0
    /// Buckets before this one are posted.
    private var next = 0
    private var measuresNorm = false
    /// sum over posted buckets of |bucket|^2 (this rank's gradient before the allreduce).
    private(set) var squaredNorm = 0.0

    /// Buckets of at least `bucketFloats` (the last, nearest the input, may be smaller).
    init(model: Model, gradients: UnsafeMutablePointer<Float>, head: Int, bucketFloats: Int, background: BackgroundAllreduce) {
        self.background = background
        self.gradients = gradients
        self.head = head
        tensors = Self.tensors(model.layout)
        boundaries = Self.boundaries(slices: model.layout.slices, count: model.layout.count, bucketFloats: bucketFloats)
        var ranges: [ObjectIdentifier: Range<Int>] = [:]
        LayerTree.walk(model.root) { node in
            let start = node.start.parameters
            ranges[ObjectIdentifier(node.layer)] = start ..< start + Self.parameters(of: node.layer)
        }
        self.ranges = ranges
    }

    var bucketCount: Int { boundaries.count - 1 }

    /// Cut points from the end of the buffer at tensor boundaries, each bucket at least `bucketFloats`.
    static func boundaries(slices: [ParameterSlice], count: Int, bucketFloats: Int) -> [Int] {
        var cuts = [count]
        for slice in slices.reversed() where slice.offset > 0 && cuts[cuts.count - 1] - slice.offset >= bucketFloats {
            cuts.append(slice.offset)
        }
        if cuts[cuts.count - 1] > 0 { cuts.append(0) }
        return cuts
    }

    /// Adds |g|^2 over the parameter tensors inside `range` to `total`, tensor by tensor from the
    /// last, in Double: buckets are whole tensors taken from the last, so adding the buckets' in turn
    /// makes the same additions as the whole buffer's, bit for bit, whatever --bucket-kb is.
    /// `tensors`: each parameter tensor's range, in layout order (`tensors(_:)`).
    static func addSquaredNorm(_ gradients: UnsafePointer<Float>, tensors: [Range<Int>], in range: Range<Int>, to total: inout Double) {
        var index = tensors.count - 1  // a while loop: stride's iterator allocates in debug builds
        while index >= 0 {
            let tensor = tensors[index]
            if tensor.lowerBound >= range.lowerBound && tensor.lowerBound < range.upperBound {
                total += sumOfSquares(gradients + tensor.lowerBound, count: tensor.count)
            }
            index -= 1
        }
    }

    /// Every parameter tensor's range in the gradient buffer, made once (a slice's count reduces
    /// over its shape, which allocates in debug builds).
    static func tensors(_ layout: ParameterLayout) -> [Range<Int>] {
        layout.slices.map { $0.offset ..< $0.offset + $0.count }
    }

    /// Parameters of a layer and everything below it.
    static func parameters(of layer: Layer) -> Int {
        layer.sublayers.reduce(layer.parameterCount) { $0 + parameters(of: $1.layer) }
    }

    /// At the start of a step. `measuresNorm`: sum |bucket|^2 as buckets leave (the noise scale's
    /// local gradient, when the pass that fills the buckets is also the step's first).
    func startStep(measuresNorm: Bool) {
        ready = boundaries[0]
        next = 0
        squaredNorm = 0
        flushed = false
        self.measuresNorm = measuresNorm
    }

    func finishedBackward(_ layer: Layer) {
        // A layer whose range ends where the final part begins extends it; any other (inside a
        // block whose later branch is still to run) waits for its container's report.
        guard let range = ranges[ObjectIdentifier(layer)], range.upperBound == ready else { return }
        ready = range.lowerBound
        postReady()
    }

    /// Posts every bucket but the last not yet posted (after the pass, or instead of it for a rank
    /// without samples), and completes `squaredNorm`.
    func flushGradients() {
        guard !flushed else { return }
        flushed = true
        ready = 0
        postReady()
        if measuresNorm { Self.addSquaredNorm(gradients, tensors: tensors, in: 0 ..< boundaries[bucketCount - 1], to: &squaredNorm) }
    }

    /// After `flushGradients` and once the tail is written: the head and the last bucket, in one message.
    func postLast() {
        precondition(flushed && next == bucketCount - 1, "postLast before the other buckets")
        background.begin(UnsafeMutableBufferPointer(start: gradients - head, count: head + boundaries[bucketCount - 1]))
        next += 1
    }

    private func postReady() {
        while next < bucketCount - 1 && boundaries[next + 1] >= ready {
            let start = boundaries[next + 1], count = boundaries[next] - start
            if measuresNorm { Self.addSquaredNorm(gradients, tensors: tensors, in: start ..< start + count, to: &squaredNorm) }
            background.begin(UnsafeMutableBufferPointer(start: gradients + start, count: count))
            next += 1
        }
    }
}
