// Per-channel standardisation fitted on the training set: channel c's byte v becomes
// (v / 255 - mean_c) / std_c, the mean and std taken over every pixel of plane c of every
// training sample (as torchvision's Normalize with CIFAR-10's per-channel statistics).
// Written as v * scale_c + offset_c so a batch converts 16 pixels at a time (BatchAssembler).
// With one channel this is, bit for bit, the single mean and std of the whole set.

public struct PixelNormalizer: Sendable {
    /// Per channel, in the [0, 1] pixel scale.
    public let mean: [Float]
    public let std: [Float]
    public let scale: [Float]
    public let offset: [Float]

    public var channels: Int { mean.count }

    public init(fitting set: Dataset) {
        // One histogram per channel (exact counts), then one pass of 256 values per channel in Double.
        let plane = set.planeSize
        var counts = [Int](repeating: 0, count: set.channels * 256)
        counts.withUnsafeMutableBufferPointer { h in
            set.images.withUnsafeBufferPointer { pixels in
                var i = 0
                for _ in 0..<set.count {
                    for c in 0..<set.channels {
                        let histogram = h.baseAddress! + 256 * c
                        for _ in 0..<plane {
                            histogram[Int(pixels[i])] += 1
                            i += 1
                        }
                    }
                }
            }
        }
        let histograms = (0..<set.channels).map { Array(counts[(256 * $0)..<(256 * $0 + 256)]) }
        var mean: [Float] = [], std: [Float] = [], scale: [Float] = [], offset: [Float] = []
        for histogram in histograms {
            let n = Double(max(set.count * plane, 1))
            var sum = 0.0, sumSquares = 0.0
            for v in 0..<256 {
                let x = Double(v) / 255
                sum += Double(histogram[v]) * x
                sumSquares += Double(histogram[v]) * x * x
            }
            let m = sum / n
            let s = max((sumSquares / n - m * m).squareRoot(), 1e-3)
            mean.append(Float(m))
            std.append(Float(s))
            scale.append(Float(1 / (255 * s)))
            offset.append(Float(-m / s))
        }
        self.mean = mean
        self.std = std
        self.scale = scale
        self.offset = offset
    }

    /// Channel c's normalised value of a pixel byte (the arithmetic of the batched path).
    @inline(__always)
    public func callAsFunction(_ pixel: UInt8, channel c: Int) -> Float { Float(pixel) * scale[c] + offset[c] }
}
