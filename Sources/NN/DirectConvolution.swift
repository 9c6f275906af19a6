// Conv2D's passes without im2col for the stride-1 `same` convolutions with an odd kernel (the 3 x 3
// layers of the residual networks): the C kernels of CConv (see its header for the grid trick),
// one sample at a time, so a sample's sums never depend on how the batch is split. Measured on
// the 16 x 28 x 28 layers of resnet8 (bench/results): forward and input gradient at about twice
// the GFLOP/s of im2col + sgemm, the weight gradient about 1.4x (BENCHMARKS.md).
// Shapes: x (N, C, H, W), weight (F, C, K, K), y (N, F, H, W).
// The input gradient is the same kernel run on the padded output gradient with the weights
// transposed and rotated by 180 degrees (the `same` convolution's adjoint for odd K).
import CConv
import Foundation
import Tensor

struct DirectConvolution {
    let geometry: ConvGeometry
    let filters: Int
    /// Floats between padded planes, and of one grid row (H * Wp rounded up to the vector width).
    let planeStride: Int, gridLength: Int

    /// The floats each shared buffer needs (ConvScratch.ensureDirect).
    struct Sizes {
        let padded: Int, paddedGradient: Int, grid: Int, packed: Int
    }

    /// `nil` where the kernels do not apply or would lose: no AVX2/AVX-512 (the CPU or
    /// DDP_CONV=im2col), not a stride-1 `same` convolution with an odd kernel, or a plane so small
    /// that the grid's extra columns and vector tail exceed 15% of the work (7 x 7 and 13 x 13
    /// planes: im2col + sgemm wins there).
    init?(geometry g: ConvGeometry, filters: Int) {
        guard DirectConvolution.enabled, g.isShift, g.kernel % 2 == 1, g.outHeight == g.height,
              g.padTop == (g.kernel - 1) / 2, g.padLeft == (g.kernel - 1) / 2 else { return nil }
        let (h, w, k) = (Int32(g.height), Int32(g.width), Int32(g.kernel))
        let length = Int(ddp_conv_grid_length(h, w, k))
        guard Double(g.height * g.width) >= 0.85 * Double(length) else { return nil }
        self.geometry = g
        self.filters = filters
        planeStride = Int(ddp_conv_plane_stride(h, w, k))
        gridLength = length
    }

    /// The kernels run unless the CPU lacks AVX2 and FMA, or DDP_CONV=im2col asks for the old path
    /// (to time both in one build). Read once, at the first layer's construction.
    static let enabled: Bool = {
        let choice = getenv("DDP_CONV").map { String(cString: $0) } ?? "direct"
        return choice != "im2col" && ddp_conv_vector_width() > 0
    }()

    var sizes: Sizes {
        let (c, f, taps) = (geometry.channels, filters, geometry.kernel * geometry.kernel)
        let blocks = { (n: Int) in (n + 7) / 8 * 8 }
        return Sizes(padded: c * planeStride + 16, paddedGradient: f * planeStride + 16,
                     grid: max(blocks(f), blocks(c)) * gridLength,
                     packed: max(blocks(f) * c, blocks(c) * f) * taps)
    }

    private var dims: (c: Int32, f: Int32, h: Int32, w: Int32, k: Int32) {
        (Int32(geometry.channels), Int32(filters), Int32(geometry.height), Int32(geometry.width), Int32(geometry.kernel))
    }

    /// y = relu?(conv(x, weight) + bias) for `batch` samples.
    func forward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool,
                 into y: UnsafeMutablePointer<Float>, batch: Int) {
        let (c, f, h, w, k) = dims
        let (padded, grid, packed) = (ConvScratch.padded.pointer, ConvScratch.grid.pointer, ConvScratch.packed.pointer)
        let (inputSize, pixels, wp) = (geometry.channels * geometry.height * geometry.width, geometry.outPixels, geometry.width + geometry.kernel - 1)
        ddp_conv_pack(weight, f, c, k, 0, packed)
        for n in 0..<batch {
            ddp_conv_pad(x + n * inputSize, nil, c, h, w, k, padded)
            ddp_conv_grid_forward(padded, packed, c, f, h, w, k, grid)
            let out = y + n * filters * pixels
            for filter in 0..<filters {
                for line in 0..<geometry.height {
                    storeChannel(grid + filter * gridLength + line * wp, into: out + filter * pixels + line * geometry.width,
                                 count: geometry.width, bias: bias?[filter] ?? 0, relu: relu)
                }
            }
        }
    }

    /// weightGradient += dW, biasGradient += db, dx += the input gradient (if asked), for `batch`
    /// samples; with `relu`, dy passes only where the output y is positive.
    func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                  weight: UnsafePointer<Float>, relu: Bool, weightGradient: UnsafeMutablePointer<Float>,
                  biasGradient: UnsafeMutablePointer<Float>?, inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int) {
        let (c, f, h, w, k) = dims
        let (padded, paddedGradient) = (ConvScratch.padded.pointer, ConvScratch.paddedGradient.pointer)
        let (grid, packed) = (ConvScratch.grid.pointer, ConvScratch.packed.pointer)
        let (inputSize, pixels, wp) = (geometry.channels * geometry.height * geometry.width, geometry.outPixels, geometry.width + geometry.kernel - 1)
        if dx != nil { ddp_conv_pack(weight, f, c, k, 1, packed) }
        for n in 0..<batch {
            let offset = n * filters * pixels
            ddp_conv_pad(dy + offset, relu ? y + offset : nil, f, h, w, k, paddedGradient)
            ddp_conv_pad(x + n * inputSize, nil, c, h, w, k, padded)
            // dW += sample after sample, as the im2col path adds its per-sample products, so a batch
            // split into micro-batches gives the same bits.
            ddp_conv_weight_gradient(padded, paddedGradient, c, f, h, w, k, weightGradient)
            // db: a padded plane holds the masked dy and zeros.
            if let biasGradient {
                for filter in 0..<filters { biasGradient[filter] += sum(paddedGradient + filter * planeStride, count: planeStride) }
            }
            if let dx {
                ddp_conv_grid_forward(paddedGradient, packed, f, c, h, w, k, grid)
                let target = dx + n * inputSize
                for channel in 0..<geometry.channels {
                    for line in 0..<geometry.height {
                        let source = grid + channel * gridLength + line * wp
                        let row = target + (channel * geometry.height + line) * geometry.width
                        for i in 0..<geometry.width { row[i] += source[i] }
                    }
                }
            }
        }
    }
}

/// Which instruction sets the direct kernels can use here, and a switch between them for tests.
public enum DirectKernels {
    /// Vector widths this CPU runs: [16, 8] with AVX-512, [8] with AVX2 and FMA only, else [] (and
    /// every convolution takes im2col + sgemm).
    public static var availableWidths: [Int] {
        let widest = Int(ddp_conv_vector_width())
        return [16, 8].filter { $0 <= widest }
    }

    /// The width the kernels use from now on (0: the CPU's widest). A layer's grid is sized at its
    /// construction: set this before constructing the layers it should apply to.
    public static func force(width: Int) { ddp_conv_force_vector_width(Int32(width)) }
}
