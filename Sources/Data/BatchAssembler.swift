// Turns sample indices into a normalised Float batch and Int32 labels, in buffers made elsewhere.
// Shapes: images (N, C, H, W) written to `into` (N rows of featureCount), labels (N).
// Training batches may be augmented (Augmentation+Assembly.swift); evaluation never is.

extension Dataset {
    /// The samples at `indices` (a shard of the epoch's permutation), as they are.
    public func assemble(indices: UnsafeBufferPointer<Int32>, normalizer: PixelNormalizer,
                         into batch: UnsafeMutablePointer<Float>, labels out: UnsafeMutablePointer<Int32>) {
        fill(indices, normalizer, nil, batch, out)
    }

    /// The samples at `indices`, augmented as drawn for (seed, epoch, sample index): the same sample
    /// gets the same image in an epoch whichever rank, micro-batch or position takes it.
    public func assemble(indices: UnsafeBufferPointer<Int32>, normalizer: PixelNormalizer,
                         augmentation: Augmentation?, seed: UInt64, epoch: Int,
                         into batch: UnsafeMutablePointer<Float>, labels out: UnsafeMutablePointer<Int32>) {
        let key = augmentation.map { AugmentationKey(augmentation: $0, seed: seed, epoch: epoch) }
        fill(indices, normalizer, key, batch, out)
    }

    /// Contiguous samples, never augmented (evaluation walks the set in order).
    public func assemble(range: Range<Int>, normalizer: PixelNormalizer,
                         into batch: UnsafeMutablePointer<Float>, labels out: UnsafeMutablePointer<Int32>) {
        fill(range, normalizer, nil, batch, out)
    }

    @inline(__always)
    private func fill<S: Sequence>(_ indices: S, _ normalize: PixelNormalizer, _ key: AugmentationKey?,
                                   _ batch: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Int32>)
    where S.Element: BinaryInteger {
        let features = featureCount
        images.withUnsafeBufferPointer { pixels in
            var row = 0
            for index in indices {
                let source = pixels.baseAddress! + Int(index) * features
                let destination = batch + row * features
                if let key {
                    key.draw(sample: Int(index)).write(source, into: destination, normalizer: normalize,
                                                       channels: channels, height: height, width: width)
                } else {
                    for c in 0..<channels {
                        Dataset.normalizePlane(source + c * planeSize, into: destination + c * planeSize, count: planeSize,
                                               scale: normalize.scale[c], offset: normalize.offset[c])
                    }
                }
                out[row] = Int32(labels[Int(index)])
                row += 1
            }
        }
    }

    @inline(__always)
    static func normalizePlane(_ source: UnsafePointer<UInt8>, into destination: UnsafeMutablePointer<Float>, count: Int,
                               scale: Float, offset: Float) {
        // 16 pixels per iteration (the same arithmetic as the scalar tail, so results do not
        // depend on where a pixel falls): a third of the step's data time at 512 per rank.
        var f = 0
        while f + 16 <= count {
            let bytes = UnsafeRawPointer(source + f).loadUnaligned(as: SIMD16<UInt8>.self)
            let values = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes)) * scale + offset
            UnsafeMutableRawPointer(destination + f).storeBytes(of: values, as: SIMD16<Float>.self)
            f += 16
        }
        while f < count {
            destination[f] = Float(source[f]) * scale + offset
            f += 1
        }
    }
}
