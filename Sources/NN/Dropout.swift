// Inverted dropout (Srivastava et al. 2014): in training each value is kept with probability 1 - p
// and scaled by 1 / (1 - p); evaluation and probes pass values through. The mask of a sample is a
// function of (seed, epoch, the sample's dataset index, the layer), never of a rank's own generator,
// so 1 x 64 = 2 x 32 = 4 x 16 still holds and no generator state needs saving.
// Shapes: x, y (N, F).
import Tensor

public final class Dropout: Layer {
    public let shape: [Int]
    public let probability: Float
    /// Which dropout layer of the model this is (part of the mask's key).
    public let key: Int
    /// The last training pass's mask, 0 or 1 / (1 - p) per value (trainingBatch, F).
    private var mask = FloatBuffer(count: 0)

    public init(shape: [Int], probability: Float, key: Int) {
        precondition(probability >= 0 && probability < 1)
        self.shape = shape
        self.probability = probability
        self.key = key
    }

    public var inputShape: [Int] { shape }
    public var outputShape: [Int] { shape }

    public func reserve(batch: Int, trainingBatch: Int) {
        mask = FloatBuffer(count: trainingBatch * outputSize)
    }

    /// Dropout layers a model may hold, each with masks of its own (the key's 8 bits below).
    public static let maxLayers = 256

    /// The generator of one sample's mask: stream 6 of the seed, indexed by (epoch, layer, sample).
    /// Distinct for epochs below 2^24, 256 dropout layers and 2^32 samples.
    static func generator(seed: UInt64, epoch: Int, key: Int, sample: Int32) -> SplitMix64 {
        let index = UInt64(truncatingIfNeeded: epoch) << 40 | UInt64(truncatingIfNeeded: key & 0xFF) << 32
            | UInt64(UInt32(bitPattern: sample))
        return SplitMix64(seed: seed, stream: 6, index: index)
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        let size = outputSize
        guard context.mode == .training, probability > 0 else {
            y.update(from: x, count: batch * size)
            return
        }
        guard let indices = context.sampleIndices else {
            preconditionFailure("dropout in training needs the samples' dataset indices in the pass context")
        }
        let keep = 1 - probability
        let kept = 1 / keep
        for n in 0..<batch {
            var rng = Dropout.generator(seed: context.seed, epoch: context.epoch, key: key, sample: indices[n])
            let (m, source, target) = (mask.pointer + n * size, x + n * size, y + n * size)
            for i in 0..<size {
                m[i] = rng.nextUnit() < keep ? kept : 0
                target[i] = source[i] * m[i]
            }
        }
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                         batch: Int, context: PassContext) {
        guard let dx else { return }
        let count = batch * outputSize
        if context.mode == .training && probability > 0 {
            for i in 0..<count { dx[i] += dy[i] * mask.pointer[i] }
        } else {
            for i in 0..<count { dx[i] += dy[i] }
        }
    }
}
