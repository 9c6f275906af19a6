// The scratch every Conv2D of the process shares: a chunk of samples' im2col columns and their
// product with the weights. Per layer, these would be 58 MB for resnet20 at 128 per rank on
// 28 x 28 (16*9 x 128*784 floats); a convolution instead runs its batch in chunks of samples
// sized so both fit in about 2 MB (the L2 of one core here), and all layers reuse one buffer.
// The direct kernels (DirectConvolution) share theirs the same way: one sample's padded input, its
// output gradient laid out twice (on the forward grid for dW, or transposed for dW by filters;
// padded for dx), a grid, the packed weights, a sample's output or output gradient transposed
// (pixels x filters, the small planes' passes), and dW transposed while a batch adds into it.
// Winograd's passes (WinogradConvolution) use `padded` and `gradientPadded` too, and their own
// transformed windows, tiles and kernels (and the kernels' gradient).
// Grown only at layer construction, never in a pass; passes run on one thread per process.
import Tensor

enum ConvScratch {
    /// Floats of columns (and of products) per chunk that a chunk is sized to (2 MB each).
    static let budget = 1 << 19

    nonisolated(unsafe) private(set) static var columns = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var products = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var padded = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var gradientGrid = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var gradientPadded = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var grid = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var packed = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var transposed = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var weightGradientTransposed = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var winogradWindows = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var winogradTiles = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var winogradFilters = FloatBuffer(count: 0)
    nonisolated(unsafe) private(set) static var winogradFilterGradient = FloatBuffer(count: 0)

    /// Makes room for a layer's largest chunk (called by Conv2D.init; buffers only grow).
    static func ensure(columns needed: Int, products neededProducts: Int) {
        grow(&columns, to: needed)
        grow(&products, to: neededProducts)
    }

    /// Makes room for a direct convolution's buffers (called by Conv2D.init; buffers only grow).
    static func ensureDirect(_ sizes: DirectConvolution.Sizes) {
        grow(&padded, to: sizes.padded)
        grow(&gradientGrid, to: sizes.gradientGrid)
        grow(&gradientPadded, to: sizes.gradientPadded)
        grow(&grid, to: sizes.grid)
        grow(&packed, to: sizes.packed)
        grow(&transposed, to: sizes.transposed)
        grow(&weightGradientTransposed, to: sizes.weightGradientTransposed)
    }

    /// Makes room for a Winograd convolution's buffers (called by Conv2D.init; buffers only grow).
    static func ensureWinograd(_ sizes: WinogradConvolution.Sizes) {
        grow(&padded, to: sizes.padded)
        grow(&gradientPadded, to: sizes.gradientPadded)
        grow(&winogradWindows, to: sizes.windows)
        grow(&winogradTiles, to: sizes.tiles)
        grow(&winogradFilters, to: sizes.filters)
        grow(&winogradFilterGradient, to: sizes.filters)
    }

    /// `buffer` replaced by one of `count` floats where it holds fewer (its contents are scratch).
    private static func grow(_ buffer: inout FloatBuffer, to count: Int) {
        if count > buffer.count { buffer = FloatBuffer(count: count) }
    }
}
