// im2col / col2im: turn convolution into GEMM (Chellapilla et al. 2006).
// Shapes: image (C, H, W); one sample's columns are a (C*K*K, Ho*Wo) block, row (c, ki, kj) and
// column (oy, ox) holding image[c, oy*S + ki - padTop, ox*S + kj - padLeft], or 0 outside the
// image, inside a matrix whose rows are `rowStride` floats apart (a chunk of samples side by side).

public struct ConvGeometry: Equatable, Sendable {
    public let channels: Int, height: Int, width: Int
    public let kernel: Int, stride: Int
    public let padTop: Int, padLeft: Int
    public let outHeight: Int, outWidth: Int

    /// `same` pads as TensorFlow does (output ceil(H / S), the odd pixel at the bottom/right);
    /// `valid` does not pad (output (H - K) / S + 1).
    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, same: Bool) {
        self.channels = channels
        self.height = height
        self.width = width
        self.kernel = kernel
        self.stride = stride
        if same {
            // ceil(H / S) as (H - 1) / S + 1: H + S - 1 overflows for a stride near Int.max, which a
            // spec can ask for (H >= 1).
            outHeight = (height - 1) / stride + 1
            outWidth = (width - 1) / stride + 1
            padTop = max((outHeight - 1) * stride + kernel - height, 0) / 2
            padLeft = max((outWidth - 1) * stride + kernel - width, 0) / 2
        } else {
            outHeight = (height - kernel) / stride + 1
            outWidth = (width - kernel) / stride + 1
            padTop = 0
            padLeft = 0
        }
    }

    public var patchSize: Int { channels * kernel * kernel }

    /// The output columns [lo, hi) whose input column ox * stride + kj - padLeft lies inside the
    /// image (lo <= hi); the rest of a line is padding.
    @inline(__always)
    func insideColumns(_ kj: Int) -> (lo: Int, hi: Int) {
        let before = padLeft - kj, last = width - 1 + padLeft - kj   // x >= 0 and x <= width - 1, times stride
        let lo = min(before > 0 ? (before - 1) / stride + 1 : 0, outWidth)
        let hi = last < 0 ? 0 : min(last / stride + 1, outWidth)
        return (lo, max(hi, lo))
    }
    public var outPixels: Int { outHeight * outWidth }

    /// Stride 1 with output lines as long as the image's (`same` padding): a column row is the image
    /// plane shifted by one offset, so it moves as one block (see im2colShifted).
    var isShift: Bool { stride == 1 && outWidth == width }

    /// Kernel tap (ki, kj) as a block move, with isShift.
    @inline(__always)
    func shiftedTap(_ ki: Int, _ kj: Int) -> ShiftedTap {
        // Clamped: a kernel taller than the image has taps whose every output row lies outside it.
        let (lo, hi) = (min(max(padTop - ki, 0), outHeight), min(height + padTop - ki, outHeight))
        let shift = (ki - padTop) * width + kj - padLeft, d = kj - padLeft
        let first = max(lo * width, -shift), last = max(min(hi * width, height * width - shift), first)
        return ShiftedTap(lo: lo, hi: max(hi, lo), shift: shift, left: min(max(-d, 0), width), right: min(max(d, 0), width),
                          block: first..<last)
    }
}

/// One kernel tap of a ConvGeometry.isShift convolution: output rows [lo, hi) have their input row
/// inside the image, and there out[i] = plane[i + shift] over `block` (those rows, clipped to the
/// plane). Each line's first `left` and last `right` entries lie beyond the image's left or right
/// edge: they are zero, and a block move wraps them onto the neighbouring line.
struct ShiftedTap {
    let lo: Int, hi: Int, shift: Int, left: Int, right: Int
    let block: Range<Int>

    /// Zeroes the wrapped entries of lines [lo, hi) of a column row whose lines are `width` long.
    @inline(__always)
    func zeroWrapped(_ row: UnsafeMutablePointer<Float>, width: Int) {
        for oy in lo..<hi {
            row.advanced(by: oy * width).update(repeating: 0, count: left)
            row.advanced(by: oy * width + width - right).update(repeating: 0, count: right)
        }
    }
}

@inline(__always)
func im2col(_ image: UnsafePointer<Float>, _ g: ConvGeometry, into columns: UnsafeMutablePointer<Float>, rowStride: Int) {
    if g.isShift { return im2colShifted(image, g, into: columns, rowStride: rowStride) }
    for c in 0..<g.channels {
        let plane = image + c * g.height * g.width
        for ki in 0..<g.kernel {
            for kj in 0..<g.kernel {
                let row = columns + ((c * g.kernel + ki) * g.kernel + kj) * rowStride
                for oy in 0..<g.outHeight {
                    let y = oy * g.stride + ki - g.padTop
                    let out = row + oy * g.outWidth
                    guard y >= 0 && y < g.height else {
                        out.update(repeating: 0, count: g.outWidth)
                        continue
                    }
                    let line = plane + y * g.width
                    // The inside run of the line (contiguous with stride 1), zeros where the kernel
                    // hangs over the edge: no bounds test per entry.
                    let (lo, hi) = g.insideColumns(kj)
                    out.update(repeating: 0, count: lo)
                    let source = line + kj - g.padLeft
                    if g.stride == 1 {
                        out.advanced(by: lo).update(from: source + lo, count: hi - lo)
                    } else {
                        for ox in lo..<hi { out[ox] = source[ox * g.stride] }
                    }
                    out.advanced(by: hi).update(repeating: 0, count: g.outWidth - hi)
                }
            }
        }
    }
}

/// im2col when a column row is the shifted plane (ConvGeometry.isShift, the `same` stride-1
/// convolutions of the residual networks and C1): one block copy per kernel tap instead of one short
/// copy per output line (resnet's 28 x 28 layers made 4,032 copies of 28 floats per sample), then
/// zeros over the rows above and below the image and the wrapped entries at each line's ends.
@inline(__always)
func im2colShifted(_ image: UnsafePointer<Float>, _ g: ConvGeometry, into columns: UnsafeMutablePointer<Float>, rowStride: Int) {
    forEachShiftedTap(g, columns: columns, rowStride: rowStride) { planeOffset, row, tap in
        let plane = image + planeOffset
        // Zero lines above and below the image, the block, then zeros over its wrapped entries.
        row.update(repeating: 0, count: tap.lo * g.width)
        row.advanced(by: tap.hi * g.width).update(repeating: 0, count: (g.outHeight - tap.hi) * g.width)
        row.advanced(by: tap.block.lowerBound).update(from: plane + tap.block.lowerBound + tap.shift, count: tap.block.count)
        tap.zeroWrapped(row, width: g.width)
    }
}

/// Every kernel tap of a ConvGeometry.isShift convolution: where its channel's plane starts in the
/// image, its column row, and the tap as a block move.
@inline(__always)
func forEachShiftedTap(_ g: ConvGeometry, columns: UnsafeMutablePointer<Float>, rowStride: Int,
                       _ body: (Int, UnsafeMutablePointer<Float>, ShiftedTap) -> Void) {
    for c in 0..<g.channels {
        for ki in 0..<g.kernel {
            for kj in 0..<g.kernel {
                body(c * g.height * g.width, columns + ((c * g.kernel + ki) * g.kernel + kj) * rowStride, g.shiftedTap(ki, kj))
            }
        }
    }
}

/// The adjoint of im2col: adds each column entry back onto the pixel it came from. Columns are
/// scratch: the shifted path zeroes their wrapped entries so that a row adds back as one block.
@inline(__always)
func col2im(_ columns: UnsafeMutablePointer<Float>, _ g: ConvGeometry, rowStride: Int, addingInto image: UnsafeMutablePointer<Float>) {
    if g.isShift { return col2imShifted(columns, g, rowStride: rowStride, addingInto: image) }
    for c in 0..<g.channels {
        let plane = image + c * g.height * g.width
        for ki in 0..<g.kernel {
            for kj in 0..<g.kernel {
                let row = columns + ((c * g.kernel + ki) * g.kernel + kj) * rowStride
                for oy in 0..<g.outHeight {
                    let y = oy * g.stride + ki - g.padTop
                    guard y >= 0 && y < g.height else { continue }
                    let line = plane + y * g.width
                    let source = row + oy * g.outWidth
                    let (lo, hi) = g.insideColumns(kj)
                    let target = line + kj - g.padLeft
                    for ox in lo..<hi { target[ox * g.stride] += source[ox] }
                }
            }
        }
    }
}

/// col2im for ConvGeometry.isShift: per kernel tap, the wrapped entries are zeroed, then the rows
/// inside the image add onto the plane as one block (pixels receive their terms in the same order
/// as the line-by-line path: taps in order, so the sums are the same bits).
@inline(__always)
func col2imShifted(_ columns: UnsafeMutablePointer<Float>, _ g: ConvGeometry, rowStride: Int, addingInto image: UnsafeMutablePointer<Float>) {
    forEachShiftedTap(g, columns: columns, rowStride: rowStride) { planeOffset, row, tap in
        tap.zeroWrapped(row, width: g.width)
        let target = image + planeOffset + tap.shift
        for i in tap.block { target[i] += row[i] }
    }
}
