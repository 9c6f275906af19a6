// A labelled image set kept as UInt8 (60k Fashion-MNIST images = 47 MB, 50k CIFAR-10 = 154 MB),
// normalised per channel while a batch is assembled.

public struct Dataset: Sendable {
    /// (count, channels, height, width) row-major pixels: each sample is C planes of H x W.
    public let images: [UInt8]
    public let labels: [UInt8]
    public let count: Int
    /// Per-sample shape (channels, height, width); featureCount = channels * height * width.
    public let channels: Int
    public let height: Int
    public let width: Int
    public let classes: Int

    public var featureCount: Int { channels * height * width }
    /// Pixels in one channel plane of one sample (H * W).
    public var planeSize: Int { height * width }
    /// (C, H, W), as models take it.
    public var shape: [Int] { [channels, height, width] }

    public init(images: [UInt8], labels: [UInt8], channels: Int = 1, height: Int, width: Int, classes: Int) {
        precondition(channels >= 1 && images.count == labels.count * channels * height * width, "images and labels disagree")
        self.images = images
        self.labels = labels
        self.count = labels.count
        self.channels = channels
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
    /// The files actually read (empty for generated data), in reading order.
    public let files: [String]
    /// Files that could have been read for the same role but were not (X beside the X.gz that was read).
    public let filesNotRead: [String]

    public init(name: String, train: Dataset, test: Dataset, files: [String] = [], filesNotRead: [String] = []) {
        precondition(train.shape == test.shape, "training and test samples differ in shape")
        self.name = name
        self.train = train
        self.test = test
        self.normalizer = PixelNormalizer(fitting: train)
        self.files = files
        self.filesNotRead = filesNotRead
    }
}
