// --augment: the grammar, random crop and flip against a direct pad-crop-flip of a small image,
// the draws a function of (seed, epoch, sample) only (so the rank count changes nothing), and
// evaluation batches never augmented.
@testable import Data
import Foundation
import Tensor
import XCTest

final class AugmentationTests: XCTestCase {
    func testGrammar() throws {
        XCTAssertEqual(try Augmentation.parse("crop:4,flip"), Augmentation(cropPadding: 4, flip: true))
        XCTAssertEqual(try Augmentation.parse("flip"), Augmentation(cropPadding: 0, flip: true))
        XCTAssertEqual(try Augmentation.parse(" crop:2 "), Augmentation(cropPadding: 2, flip: false))
        XCTAssertTrue(try Augmentation.parse("none").isNone)
        XCTAssertEqual(Augmentation(cropPadding: 4, flip: true).description, "crop:4,flip")
        let refused: [(String, String)] = [("crop", "cannot read 'crop'"), ("crop:0", "cannot read 'crop:0'"), ("crop:-1", "cannot read 'crop:-1'"),
                              ("flip,flip", "'flip' appears twice"), ("crop:2,crop:3", "'crop' appears twice"),
                              ("rotate", "cannot read 'rotate'"), ("", "cannot read ''"), ("crop:4,", "cannot read ''")]
        for (bad, reason) in refused {
            XCTAssertThrowsError(try Augmentation.parse(bad), bad) {
                XCTAssertEqual(($0 as? AugmentationError)?.reason, reason, bad)
                XCTAssertTrue("\($0)".hasSuffix("expected " + Augmentation.grammar))
            }
        }
        XCTAssertThrowsError(try Augmentation(cropPadding: 5).check(height: 4, width: 8))
        XCTAssertNoThrow(try Augmentation(cropPadding: 3).check(height: 4, width: 8))
        // Stored as its text in config.json and checkpoints.
        let encoded = try JSONEncoder().encode([Augmentation(cropPadding: 3, flip: true)])
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), #"["crop:3,flip"]"#)
        XCTAssertEqual(try JSONDecoder().decode([Augmentation].self, from: encoded), [Augmentation(cropPadding: 3, flip: true)])
    }

    /// The largest padding accepted leaves a pixel of the image in every window (the extreme
    /// offsets 0 and 2P keep one row or column); one more would give a window of padding only.
    func testEveryAcceptedPaddingLeavesAPixelInEveryWindow() {
        for (height, width) in [(4, 8), (5, 4), (1, 20), (3, 3)] {
            let largest = (1...40).last { (try? Augmentation(cropPadding: $0).check(height: height, width: width)) != nil }
            XCTAssertEqual(largest, min(height, width) > 1 ? min(height, width) - 1 : nil, "\(height) x \(width)")
            XCTAssertThrowsError(try Augmentation(cropPadding: min(height, width)).check(height: height, width: width)) {
                XCTAssertTrue("\($0)".hasPrefix("padding \(min(height, width)) is larger than the \(height) x \(width) images allow"), "\($0)")
            }
            guard let p = largest else { continue }
            // Every window offset of the largest padding, through the real write: byte 255 everywhere,
            // so a window holds a pixel of the image exactly when some output is not the padding value.
            let set = Dataset(images: [UInt8](repeating: 255, count: height * width), labels: [0], height: height, width: width, classes: 10)
            let normalizer = PixelNormalizer(fitting: set)
            var out = [Float](repeating: 0, count: height * width)
            for top in 0...(2 * p) { for left in 0...(2 * p) {
                set.images.withUnsafeBufferPointer {
                    AugmentationDraw(rowShift: top - p, columnShift: left - p, flip: false)
                        .write($0.baseAddress!, into: &out, normalizer: normalizer, channels: 1, height: height, width: width)
                }
                let inside = out.filter { $0 != normalizer(0, channel: 0) }.count
                XCTAssertEqual(inside, (height - abs(top - p)) * (width - abs(left - p)), "\(height) x \(width) at (\(top), \(left))")
                XCTAssertGreaterThan(inside, 0)
            } }
        }
    }

    /// 2 channels of 5 x 4, distinct bytes everywhere (none 0, so padding is told apart).
    let image: Dataset = {
        let bytes: [UInt8] = (0..<(7 * 2 * 5 * 4)).map { (i: Int) -> UInt8 in UInt8(1 + i % 250) }
        return Dataset(images: bytes, labels: [UInt8](repeating: 3, count: 7), channels: 2, height: 5, width: 4, classes: 10)
    }()

    /// Pads with byte 0, crops the window at (top, left) of the padded image, flips, then normalises.
    func reference(sample s: Int, top: Int, left: Int, flip: Bool, padding p: Int, _ n: PixelNormalizer) -> [Float] {
        let (c, h, w) = (image.channels, image.height, image.width)
        var out: [Float] = []
        for ch in 0..<c {
            var padded = [[UInt8]](repeating: [UInt8](repeating: 0, count: w + 2 * p), count: h + 2 * p)
            for y in 0..<h { for x in 0..<w { padded[y + p][x + p] = image.images[((s * c + ch) * h + y) * w + x] } }
            for y in 0..<h {
                var row = Array(padded[top + y][left..<(left + w)])
                if flip { row.reverse() }
                out += row.map { n($0, channel: ch) }
            }
        }
        return out
    }

    func testCropAndFlipMatchADirectComputation() {
        let normalizer = PixelNormalizer(fitting: image)
        for p in [1, 2, 4] {
            let key = AugmentationKey(augmentation: Augmentation(cropPadding: p, flip: true), seed: 8, epoch: 2)
            var tops = Set<Int>(), flips = Set<Bool>()
            var batch = [Float](repeating: 0, count: image.featureCount), label: Int32 = 0
            for s in 0..<image.count {
                for epochShift in 0..<20 {
                    let key = AugmentationKey(augmentation: key.augmentation, seed: 8, epoch: epochShift)
                    let d = key.draw(sample: s)
                    tops.insert(d.rowShift + p)
                    flips.insert(d.flip)
                    let index: [Int32] = [Int32(s)]
                    index.withUnsafeBufferPointer {
                        image.assemble(indices: $0, normalizer: normalizer, augmentation: key.augmentation, seed: 8,
                                       epoch: epochShift, into: &batch, labels: &label)
                    }
                    let expected = reference(sample: s, top: d.rowShift + p, left: d.columnShift + p, flip: d.flip, padding: p, normalizer)
                    XCTAssertEqual(batch.bits, expected.bits, "p \(p) sample \(s) draw \(d)")
                    XCTAssertEqual(label, 3)
                }
            }
            XCTAssertEqual(tops, Set(0...(2 * p)), "every window offset is drawn")
            XCTAssertEqual(flips, [false, true])
        }
        // Padding is byte 0 normalised: the window shifted fully off the image is that value only.
        let off = AugmentationDraw(rowShift: 5, columnShift: 0, flip: false)
        var batch = [Float](repeating: 1, count: image.featureCount)
        image.images.withUnsafeBufferPointer {
            off.write($0.baseAddress!, into: &batch, normalizer: normalizer, channels: 2, height: 5, width: 4)
        }
        XCTAssertEqual(Array(batch[0..<20]), [Float](repeating: normalizer(0, channel: 0), count: 20))
        XCTAssertEqual(Array(batch[20..<40]), [Float](repeating: normalizer(0, channel: 1), count: 20))
    }

    func testTheIdentityDrawIsTheUnaugmentedSample() {
        let normalizer = PixelNormalizer(fitting: image)
        var plain = [Float](repeating: 0, count: image.featureCount), label: Int32 = 0
        image.assemble(range: 4..<5, normalizer: normalizer, into: &plain, labels: &label)
        var shifted = [Float](repeating: 0, count: image.featureCount)
        image.images.withUnsafeBufferPointer {
            AugmentationDraw(rowShift: 0, columnShift: 0, flip: false)
                .write($0.baseAddress! + 4 * image.featureCount, into: &shifted, normalizer: normalizer, channels: 2, height: 5, width: 4)
        }
        XCTAssertEqual(shifted.bits, plain.bits)
    }

    /// Every sample of an epoch as `ranks` ranks take it, keyed by sample index.
    func epochImages(_ set: Dataset, ranks: Int, batch: Int, accumulation: Int, augmentation: Augmentation?) -> [Int32: [Float]] {
        let normalizer = PixelNormalizer(fitting: set)
        var images: [Int32: [Float]] = [:]
        for rank in 0..<ranks {
            var sampler = ShardedSampler(sampleCount: set.count, seed: 6, rank: rank, ranks: ranks,
                                         batchPerRank: batch, accumulation: accumulation)
            sampler.startEpoch(3)
            var buffer = [Float](repeating: 0, count: batch * set.featureCount)
            var labels = [Int32](repeating: 0, count: batch)
            for step in 0..<sampler.stepsPerEpoch {
                for micro in 0..<accumulation {
                    sampler.withIndices(step: step, micro: micro) { indices in
                        set.assemble(indices: indices, normalizer: normalizer, augmentation: augmentation, seed: 6,
                                     epoch: sampler.epoch, into: &buffer, labels: &labels)
                        for (row, index) in indices.enumerated() {
                            images[index] = Array(buffer[(row * set.featureCount)..<((row + 1) * set.featureCount)])
                        }
                    }
                }
            }
        }
        return images
    }

    func testASampleGetsTheSameImageWhateverTheRankCount() {
        let bytes: [UInt8] = (0..<(40 * 3 * 6 * 6)).map { (i: Int) -> UInt8 in UInt8((i * 37) % 256) }
        let set = Dataset(images: bytes, labels: (0..<40).map { (i: Int) -> UInt8 in UInt8(i % 10) },
                          channels: 3, height: 6, width: 6, classes: 10)
        let augmentation = Augmentation(cropPadding: 2, flip: true)
        let one = epochImages(set, ranks: 1, batch: 16, accumulation: 1, augmentation: augmentation)
        XCTAssertEqual(one.count, 40)
        for (ranks, batch, accumulation) in [(2, 8, 1), (4, 4, 1), (1, 8, 2), (2, 4, 2)] {
            let other = epochImages(set, ranks: ranks, batch: batch, accumulation: accumulation, augmentation: augmentation)
            XCTAssertEqual(other.mapValues { $0.bits }, one.mapValues { $0.bits },
                           "\(ranks) ranks x \(batch) x \(accumulation)")
        }
        let plain = epochImages(set, ranks: 1, batch: 16, accumulation: 1, augmentation: nil)
        let changed = (0..<40).filter { one[Int32($0)] != plain[Int32($0)] }.count
        XCTAssertGreaterThan(changed, 30, "augmentation changed most samples (identity draw: 1/25 x 1/2)")
    }

    func testNoAugmentationIsBitIdenticalToThePlainPath() {
        let normalizer = PixelNormalizer(fitting: image)
        let indices: [Int32] = [6, 0, 3]
        var a = [Float](repeating: 0, count: 3 * image.featureCount), b = a
        var la = [Int32](repeating: 0, count: 3), lb = la
        indices.withUnsafeBufferPointer {
            image.assemble(indices: $0, normalizer: normalizer, into: &a, labels: &la)
            image.assemble(indices: $0, normalizer: normalizer, augmentation: nil, seed: 1, epoch: 0, into: &b, labels: &lb)
        }
        XCTAssertEqual(a.bits, b.bits)
        XCTAssertEqual(la, lb)
    }
}

extension Array where Element == Float {
    /// The exact bits, for bit-for-bit comparisons.
    var bits: [UInt32] { map { $0.bitPattern } }
}
