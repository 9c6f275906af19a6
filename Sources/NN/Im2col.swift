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
            outHeight = (height + stride - 1) / stride
            outWidth = (width + stride - 1) / stride
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

    /// With stride 1: the output columns ox whose input column ox + kj - padLeft lies inside the image.
    @inline(__always)
    func insideColumns(_ kj: Int) -> (lo: Int, hi: Int) {
        (max(padLeft - kj, 0), min(width + padLeft - kj, outWidth))
    }
    public var outPixels: Int { outHeight * outWidth }
}

@inline(__always)
func im2col(_ image: UnsafePointer<Float>, _ g: ConvGeometry, into columns: UnsafeMutablePointer<Float>, rowStride: Int) {
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
                    if g.stride == 1 {
                        // One contiguous run of the image line, zeros where the kernel hangs over the edge.
                        let (lo, hi) = g.insideColumns(kj)
                        out.update(repeating: 0, count: lo)
                        if hi > lo { out.advanced(by: lo).update(from: line + lo + kj - g.padLeft, count: hi - lo) }
                        out.advanced(by: max(hi, lo)).update(repeating: 0, count: g.outWidth - max(hi, lo))
                        continue
                    }
                    for ox in 0..<g.outWidth {
                        let x = ox * g.stride + kj - g.padLeft
                        out[ox] = x >= 0 && x < g.width ? line[x] : 0
                    }
                }
            }
        }
    }
}

/// The adjoint of im2col: adds each column entry back onto the pixel it came from.
@inline(__always)
func col2im(_ columns: UnsafePointer<Float>, _ g: ConvGeometry, rowStride: Int, addingInto image: UnsafeMutablePointer<Float>) {
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
                    if g.stride == 1 {
                        let (lo, hi) = g.insideColumns(kj)
                        let target = line + kj - g.padLeft
                        for ox in lo..<max(hi, lo) { target[ox] += source[ox] }
                        continue
                    }
                    for ox in 0..<g.outWidth {
                        let x = ox * g.stride + kj - g.padLeft
                        if x >= 0 && x < g.width { line[x] += source[ox] }
                    }
                }
            }
        }
    }
}
