// A labelled image set kept as UInt8 (60k Fashion-MNIST images = 47 MB), normalised per batch.

public struct Dataset: Sendable {
    /// (count, featureCount) row-major pixels.
    public let images: [UInt8]
    public let labels: [UInt8]
    public let count: Int
    /// Per-sample shape (height, width); featureCount = height * width.
    public let height: Int
    public let width: Int
    public let classes: Int

    public var featureCount: Int { height * width }

    public init(images: [UInt8], labels: [UInt8], height: Int, width: Int, classes: Int) {
        precondition(images.count == labels.count * height * width, "images and labels disagree")
        self.images = images
        self.labels = labels
        self.count = labels.count
        self.height = height
        self.width = width
        self.classes = classes
    }
}

/// The training and test halves of one data source, plus the pixel normalisation of the training half.
public struct DataSplit: Sendable {
    public let name: String
    public let train: Dataset
    public let test: Dataset
    public let normalizer: PixelNormalizer

    public init(name: String, train: Dataset, test: Dataset) {
        self.name = name
        self.train = train
        self.test = test
        self.normalizer = PixelNormalizer(fitting: train.images)
    }
}

/// Maps a pixel byte v to (v / 255 - mean) / std with the training set's mean and std, as the
/// affine v * scale + offset, so a batch converts 16 pixels at a time (BatchAssembler).
public struct PixelNormalizer: Sendable {
    public let mean: Float
    public let std: Float
    public let scale: Float
    public let offset: Float

    public init(fitting pixels: [UInt8]) {
        var histogram = [Int](repeating: 0, count: 256)
        for p in pixels { histogram[Int(p)] += 1 }
        let n = Double(max(pixels.count, 1))
        var sum = 0.0, sumSquares = 0.0
        for v in 0..<256 {
            let x = Double(v) / 255
            sum += Double(histogram[v]) * x
            sumSquares += Double(histogram[v]) * x * x
        }
        let mean = sum / n
        let std = max((sumSquares / n - mean * mean).squareRoot(), 1e-3)
        self.mean = Float(mean)
        self.std = Float(std)
        self.scale = Float(1 / (255 * std))
        self.offset = Float(-mean / std)
    }

    @inline(__always)
    public func callAsFunction(_ pixel: UInt8) -> Float { Float(pixel) * scale + offset }
}
