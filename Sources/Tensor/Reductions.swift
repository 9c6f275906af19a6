// Reductions over the flat buffers, through OpenBLAS; sums accumulate in double precision
// (cblas_dsdot), so a norm over 10^5..10^6 parameters keeps its digits.
import CBLAS

/// sum_i x[i]^2, accumulated in Double.
@inline(__always)
public func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    cblas_dsdot(Int32(count), x, 1, x, 1)
}
