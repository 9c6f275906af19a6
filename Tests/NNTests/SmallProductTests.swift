// ddp_small_product (small_product.h), the kernel Winograd's point products run on at AVX2's width:
// every entry bit for bit the fused multiply-add chain over k in order from zero (then added to c
// with `accumulate`; multiply then add on the SSE baseline), for a and its transpose, heights that are not whole register tiles, widths
// that are not whole vectors, at every vector width; nothing of c written past column n.
import CConv
@testable import NN
import Tensor
import XCTest

final class SmallProductTests: XCTestCase {
    /// (m, n, k): remainders of the 6-row tile and of 1 and 2 vectors at every width, Winograd's shapes.
    let shapes = [(1, 1, 1), (5, 7, 3), (6, 16, 16), (7, 17, 9), (13, 33, 64), (49, 16, 16), (64, 64, 4), (12, 40, 35), (3, 24, 1), (8, 25, 5)]

    func testEveryEntryIsTheInOrderFusedSumAtEveryVectorWidth() throws {
        for width in try vectorKernelWidths() + [4] {
            DirectKernels.force(width: width)
            var rng = SplitMix64(seed: UInt64(41 + width))
            for (m, n, k) in shapes {
                for transposed in [false, true] {
                    for accumulate in [false, true] {
                        let label = "width \(width), m \(m) n \(n) k \(k), transposed \(transposed), accumulate \(accumulate)"
                        // a (m x k) stored with a row stride of k + 3 (or its transpose, m + 2 apart),
                        // b (k x n) n + 5 apart, c (m x n) n + 4 apart with sentinels in its gaps.
                        let lda = transposed ? m + 2 : k + 3, ldb = n + 5, ldc = n + 4
                        let a = (0..<((transposed ? k : m) * lda)).map { _ in rng.uniform(-1, 1) }
                        let b = (0..<(k * ldb)).map { _ in rng.uniform(-1, 1) }
                        let before = (0..<(m * ldc)).map { i in i % ldc < n ? rng.uniform(-1, 1) : Float(-7) }
                        var c = before
                        ddp_small_product(Int32(m), Int32(n), Int32(k), a, Int32(transposed ? 1 : lda), Int32(transposed ? lda : 1),
                                          b, Int32(ldb), accumulate ? 1 : 0, &c, Int32(ldc))
                        var wrong = 0
                        for i in 0..<m {
                            for j in 0..<ldc {
                                var expected = before[i * ldc + j]
                                if j < n {
                                    var sum: Float = 0
                                    for p in 0..<k {
                                        let x = transposed ? a[p * lda + i] : a[i * lda + p]
                                        // The x86-64 baseline (width 4) has no fused multiply-add.
                                        if width == 4 { sum = sum + x * b[p * ldb + j] } else { sum.addProduct(x, b[p * ldb + j]) }
                                    }
                                    expected = accumulate ? expected + sum : sum
                                }
                                if c[i * ldc + j].bitPattern != expected.bitPattern { wrong += 1 }
                            }
                        }
                        XCTAssertEqual(wrong, 0, label)
                    }
                }
            }
        }
    }

    func testWinogradTakesItsOwnProductsAtAVX2WidthOnly() throws {
        for width in try vectorKernelWidths() {
            DirectKernels.force(width: width)
            XCTAssertEqual(WinogradConvolution.ownProducts, width == 8 && !WinogradConvolution.sgemmProducts, "width \(width)")
        }
    }
}
