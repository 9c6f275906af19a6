// Reductions over the flat buffers, through OpenBLAS. cblas_sdot runs the vector kernels (several
// float accumulators): the noise scale's two norms per step cost 3% of a batch-32 MLP step here,
// against 8% with cblas_dsdot's double accumulator. Float sums of 10^5 squares keep about 5 digits.
import CBLAS

/// sum_i x[i]^2.
@inline(__always)
public func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    Double(cblas_sdot(Int32(count), x, 1, x, 1))
}

/// sum_i x[i], in 16 float lanes (a serial float sum cannot vectorize: its order is fixed).
@inline(__always)
public func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD16<Float>()
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 16 <= count {
        lanes += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    var total = lanes.sum()
    while i < count {
        total += x[i]
        i += 1
    }
    return total
}
