// Turns sample indices into a normalised Float batch and Int32 labels, in buffers made elsewhere.
// Shapes: images (N, F) written to `into`, labels (N).

extension Dataset {
    /// The samples at `indices` (a shard of the epoch's permutation).
    public func assemble(indices: UnsafeBufferPointer<Int32>, normalizer: PixelNormalizer,
                         into batch: UnsafeMutablePointer<Float>, labels out: UnsafeMutablePointer<Int32>) {
        fill(indices, normalizer, batch, out)
    }

    /// Contiguous samples (evaluation walks the set in order).
    public func assemble(range: Range<Int>, normalizer: PixelNormalizer,
                         into batch: UnsafeMutablePointer<Float>, labels out: UnsafeMutablePointer<Int32>) {
        fill(range, normalizer, batch, out)
    }

    @inline(__always)
    private func fill<S: Sequence>(_ indices: S, _ normalizer: PixelNormalizer,
                                   _ batch: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Int32>)
    where S.Element: BinaryInteger {
        let features = featureCount
        normalizer.table.withUnsafeBufferPointer { table in
            images.withUnsafeBufferPointer { pixels in
                for (row, index) in indices.enumerated() {
                    let source = pixels.baseAddress! + Int(index) * features
                    let destination = batch + row * features
                    for f in 0..<features { destination[f] = table[Int(source[f])] }
                    out[row] = Int32(labels[Int(index)])
                }
            }
        }
    }
}
