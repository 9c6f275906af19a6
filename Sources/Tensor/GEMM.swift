// Every matrix product in swift-ddp goes through here, to OpenBLAS's cblas_sgemm.
// Row-major: C (m x n) = alpha * op(A) (m x k) * op(B) (k x n) + beta * C.
import CBLAS

@inline(__always)
public func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    // OpenBLAS 0.3.21's SkylakeX small-matrix kernel for C = A B (no transposes, m n k <= 10^6)
    // mallocs a row-major copy of A's last rows when n % 16 is 1...8 and k >= 32
    // (kernel/x86_64/sgemm_small_kernel_nn_skylakex.c): an allocation inside the step, e.g. resnet8's
    // last 1 x 1 projection over 4 samples (n = 4 x 49). With beta 0 the same product is made as
    // two calls of widths n rounded down to 16 and the last 16 columns, whose overlap is written
    // twice with the same values.
    if !transposeA && !transposeB && beta == 0 && n > 16 && (1...8).contains(n % 16) && k >= 32
        && Double(m) * Double(n) * Double(k) <= 1e6 {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n & ~15), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), 16, Int32(k),
                    alpha, a, Int32(lda), b + (n - 16), Int32(ldb), 0, c + (n - 16), Int32(ldc))
        return
    }
    cblas_sgemm(CblasRowMajor,
                transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Which OpenBLAS build and kernel set runs (it depends on OPENBLAS_CORETYPE and the CPU).
public enum BLASInfo {
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var configuration: String { String(cString: openblas_get_config()) }
    public static func setThreads(_ count: Int) { openblas_set_num_threads(Int32(count)) }
}
