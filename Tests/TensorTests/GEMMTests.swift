// OpenBLAS sgemm against the naive Double-accumulating twin, for every transpose and beta.
import Tensor
import XCTest

final class GEMMTests: XCTestCase {
    func testSgemmMatchesReferenceForEveryTransposeAndBeta() {
        var rng = SplitMix64(seed: 11)
        let (m, n, k) = (7, 13, 29)
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for beta: Float in [0, 1, 0.5] {
                    let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
                    let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
                    let c0 = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
                    var fast = c0, slow = c0
                    let lda = transposeA ? m : k, ldb = transposeB ? k : n
                    gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.7,
                         a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &fast, ldc: n)
                    referenceGEMM(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.7,
                                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &slow, ldc: n)
                    let worst = zip(fast, slow).map { abs($0 - $1) }.max()!
                    XCTAssertLessThan(worst, 1e-5, "transA \(transposeA) transB \(transposeB) beta \(beta)")
                }
            }
        }
    }

    func testReferenceGEMMComputesAKnownProduct() {
        // [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
        var c = [Float](repeating: 0, count: 4)
        referenceGEMM(transposeA: false, transposeB: false, m: 2, n: 2, k: 2,
                      a: [1, 2, 3, 4], lda: 2, b: [5, 6, 7, 8], ldb: 2, beta: 0, c: &c, ldc: 2)
        XCTAssertEqual(c, [19, 22, 43, 50])
    }

    func testBLASReportsItsKernelSet() {
        XCTAssertFalse(BLASInfo.coreName.isEmpty)
        XCTAssertTrue(BLASInfo.configuration.contains("OpenBLAS"), BLASInfo.configuration)
    }
}
