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
