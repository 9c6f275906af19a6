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

    func testProductsSplitAroundTheAllocatingSmallKernelMatchTheReference() {
        // n % 16 in 1...8, k >= 32, m n k <= 10^6, beta 0: gemm makes these in two calls (GEMM.swift);
        // padded leading dimensions as a convolution's chunk of columns has.
        var rng = SplitMix64(seed: 12)
        for (m, n, k) in [(64, 196, 32), (16, 17, 40), (8, 24, 33)] {
            let (lda, ldb, ldc) = (k + 3, n + 5, n + 2)
            let a = (0..<(m * lda)).map { _ in rng.uniform(-1, 1) }
            let b = (0..<(k * ldb)).map { _ in rng.uniform(-1, 1) }
            let c0 = (0..<(m * ldc)).map { _ in rng.uniform(-1, 1) }
            var fast = c0, slow = c0
            gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: &fast, ldc: ldc)
            referenceGEMM(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: &slow, ldc: ldc)
            XCTAssertLessThan(zip(fast, slow).map { abs($0 - $1) }.max()!, 1e-4, "\(m)x\(n)x\(k)")
            XCTAssertEqual(Array(fast[(m * ldc - 2)...]), Array(c0[(m * ldc - 2)...]), "columns past n untouched")
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
