// Random crop and flip written straight into a batch row (no buffer of its own, nothing allocated).
// Each sample's draws come from SplitMix64(seed, stream 11, index = epoch << 32 | sample index),
// never from a rank's generator, so 1 x 64 = 2 x 32 = 4 x 16 holds with augmentation on.
//
// Padding is zero in PIXEL space, as torchvision's RandomCrop(32, padding=4) before ToTensor and
// Normalize (the CIFAR recipe of the papers' PyTorch code): a padded pixel is the normalised value
// of byte 0 in its channel, offset_c = -mean_c / std_c, i.e. black, not the channel mean.
import Tensor

/// What the draws of one epoch depend on besides the sample index.
struct AugmentationKey {
    let augmentation: Augmentation
    let seed: UInt64
    let epoch: Int

    /// Crop window offsets in the padded image (0...2P each) and the flip, in that order of draws.
    @inline(__always)
    func draw(sample: Int) -> AugmentationDraw {
        let p = augmentation.cropPadding
        var rng = SplitMix64(seed: seed, stream: Augmentation.randomStream,
                             index: UInt64(truncatingIfNeeded: epoch) << 32 | UInt64(truncatingIfNeeded: sample))
        let top = p > 0 ? rng.below(2 * p + 1) : 0
        let left = p > 0 ? rng.below(2 * p + 1) : 0
        let flip = augmentation.flip && rng.next() >> 63 == 1
        return AugmentationDraw(rowShift: top - p, columnShift: left - p, flip: flip)
    }
}

/// One sample's augmentation: output pixel (c, y, x) is input pixel (c, y + rowShift, x') with
/// x' = x + columnShift, or (W - 1 - x) + columnShift when flipped (crop, then flip, as torchvision's
/// RandomCrop then RandomHorizontalFlip); outside the image it is padding.
public struct AugmentationDraw: Equatable, Sendable {
    public let rowShift: Int
    public let columnShift: Int
    public let flip: Bool

    /// source: C x H x W bytes; destination: C x H x W floats.
    @inline(__always)
    func write(_ source: UnsafePointer<UInt8>, into destination: UnsafeMutablePointer<Float>, normalizer: PixelNormalizer,
               channels: Int, height: Int, width: Int) {
        // Output columns whose source column is inside the image: x' in [0, W).
        let low = max(0, flip ? columnShift : -columnShift)
        let inside = low ..< max(low, min(width, flip ? width + columnShift : width - columnShift))
        for c in 0..<channels {
            let (scale, padding) = (normalizer.scale[c], normalizer.offset[c])
            for y in 0..<height {
                let row = destination + (c * height + y) * width
                let sourceRow = y + rowShift
                guard sourceRow >= 0 && sourceRow < height, !inside.isEmpty else {
                    row.update(repeating: padding, count: width)
                    continue
                }
                let input = source + (c * height + sourceRow) * width
                for x in 0..<inside.lowerBound { row[x] = padding }
                if flip {
                    let mirror = width - 1 + columnShift
                    for x in inside { row[x] = Float(input[mirror - x]) * scale + padding }
                } else {
                    for x in inside { row[x] = Float(input[x + columnShift]) * scale + padding }
                }
                for x in inside.upperBound..<width { row[x] = padding }
            }
        }
    }
}
