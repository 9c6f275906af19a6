// Per-channel standardisation against a direct Double computation, and, for one channel, bit for
// bit the single-mean normaliser the project had before channels (so the default job is unchanged).
@testable import Data
import Tensor
import XCTest

final class NormalizerTests: XCTestCase {
    /// Three channels with different statistics, 5 samples of 4 x 6.
    func rgbSet() -> Dataset {
        var rng = SplitMix64(seed: 5)
        let (n, c, plane) = (5, 3, 24)
        var images = [UInt8](repeating: 0, count: n * c * plane)
        for s in 0..<n { for ch in 0..<c { for p in 0..<plane {
            // Channel 0 dark, 1 mid, 2 bright and narrow.
            let base = [0, 100, 200][ch], spread = [80, 150, 40][ch]
            images[(s * c + ch) * plane + p] = UInt8(base + rng.below(spread))
        } } }
        return Dataset(images: images, labels: [0, 1, 2, 3, 4], channels: 3, height: 4, width: 6, classes: 10)
    }

    func testPerChannelStatisticsMatchADirectComputation() {
        let set = rgbSet()
        let normalizer = PixelNormalizer(fitting: set)
        var batch = [Float](repeating: 0, count: set.count * set.featureCount)
        var labels = [Int32](repeating: 0, count: set.count)
        set.assemble(range: 0..<set.count, normalizer: normalizer, into: &batch, labels: &labels)
        for c in 0..<3 {
            var values: [Double] = []
            for s in 0..<set.count {
                let start = (s * 3 + c) * set.planeSize
                values += set.images[start..<(start + set.planeSize)].map { Double($0) / 255 }
            }
            let mean = values.reduce(0, +) / Double(values.count)
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
            XCTAssertEqual(Double(normalizer.mean[c]), mean, accuracy: 1e-6, "channel \(c)")
            XCTAssertEqual(Double(normalizer.std[c]), std, accuracy: 1e-6, "channel \(c)")
            for s in 0..<set.count {
                for p in 0..<set.planeSize {
                    let i = (s * 3 + c) * set.planeSize + p
                    XCTAssertEqual(Double(batch[i]), (Double(set.images[i]) / 255 - mean) / std, accuracy: 1e-5)
                }
            }
        }
        XCTAssertNotEqual(normalizer.mean[0], normalizer.mean[2], "the channels were standardised apart")
    }

    /// The normaliser before channels existed (one mean and std over every pixel), kept as the reference.
    struct SingleChannelReference {
        let scale: Float, offset: Float
        init(_ pixels: [UInt8]) {
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
            scale = Float(1 / (255 * std))
            offset = Float(-mean / std)
        }
    }

    func assertBitIdenticalToSingleChannelReference(_ set: Dataset, file: StaticString = #filePath, line: UInt = #line) {
        let reference = SingleChannelReference(set.images)
        let normalizer = PixelNormalizer(fitting: set)
        XCTAssertEqual(normalizer.scale[0].bitPattern, reference.scale.bitPattern, file: file, line: line)
        XCTAssertEqual(normalizer.offset[0].bitPattern, reference.offset.bitPattern, file: file, line: line)
        let count = min(set.count, 512)
        var batch = [Float](repeating: 0, count: count * set.featureCount)
        var labels = [Int32](repeating: 0, count: count)
        set.assemble(range: 0..<count, normalizer: normalizer, into: &batch, labels: &labels)
        let expected = set.images[0..<(count * set.featureCount)].map { Float($0) * reference.scale + reference.offset }
        XCTAssertEqual(batch.bits, expected.bits, file: file, line: line)
    }

    func testOneChannelIsBitIdenticalToTheSingleMeanNormaliser() throws {
        assertBitIdenticalToSingleChannelReference(SyntheticData.make(trainCount: 300, testCount: 10).train)
        // 20 features: a SIMD block of 16 and a scalar tail of 4 per sample.
        assertBitIdenticalToSingleChannelReference(SyntheticData.randomBinary(trainCount: 50).train)
        guard FileManager.default.fileExists(atPath: MNISTFolder.fashionMNIST) else {
            throw XCTSkip("dataset-fashion-mnist is not installed (launch/setup.sh installs it)")
        }
        // Its 10000 test images (the 60000 training images take half a minute in a debug build).
        var files: [String] = [], notRead: [String] = []
        assertBitIdenticalToSingleChannelReference(try MNISTFolder.loadPair(MNISTFolder.fashionMNIST, prefix: "t10k", classes: 10,
                                                                            files: &files, notRead: &notRead))
    }
}
