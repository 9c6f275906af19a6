// The matrices of Winograd's minimal filtering F(m, r) (Lavin & Gray 2016), built by the
// Toom-Cook construction instead of typed in, so one definition serves every tile and kernel size:
// a correlation of r taps over m outputs is the transpose of the linear convolution of two
// polynomials of r and m coefficients, which is evaluated at alpha = m + r - 1 points (here 0, 1,
// -1, 2, -2, 1/2, -1/2 as far as needed, and infinity: the leading coefficients' product), multiplied
// pointwise, and interpolated back. With E_n (alpha x n) evaluating a polynomial of n coefficients
// at the points (row of infinity: the last coefficient) and E = E_alpha:
//   y = A^T [ (G g) (.) (B^T d) ],   A = E_m,   G = E_r,   B = E^-1,
// the transpose of the convolution s = E^-1 [ (E_r g) (.) (E_m h) ] in h. Each point's row of B^T
// is scaled to a largest entry of 1 and G's row by the inverse (the product is unchanged; the
// transformed windows stay the size of the data). In two dimensions, Y = A^T [U (.) V] A with
// U = G g G^T and V = B^T d B.
import Foundation

struct WinogradMatrices {
    let m: Int, r: Int, alpha: Int
    /// A^T (m x alpha), G (alpha x r), B^T (alpha x alpha), row-major.
    let at: [Float], g: [Float], bt: [Float]
    /// G (x) G (alpha^2 x r^2): row i alpha + j, column p r + q is G[i][p] G[j][q], so the kernels'
    /// transforms U = G g G^T of every (filter, channel) pair are one matrix product.
    let filterTransform: [Float]

    init(m: Int, r: Int) {
        precondition(m >= 1 && r >= 1 && m + r - 1 <= 8, "Winograd tiles up to 8 x 8")
        let alpha = m + r - 1
        let finite: [Double] = Array([0, 1, -1, 2, -2, 0.5, -0.5].prefix(alpha - 1))
        /// alpha x n: row j the powers of point j, the last row picks the last coefficient.
        func evaluation(_ n: Int) -> [[Double]] {
            finite.map { p in (0..<n).map { pow(p, Double($0)) } } + [(0..<n).map { $0 == n - 1 ? 1 : 0 }]
        }
        let b = WinogradMatrices.inverse(evaluation(alpha))            // B = E^-1, alpha x alpha
        var btRows = (0..<alpha).map { i in (0..<alpha).map { b[$0][i] } }  // B^T
        var gRows = evaluation(r)
        for i in 0..<alpha {
            let largest = btRows[i].map(abs).max()!
            btRows[i] = btRows[i].map { $0 / largest }
            gRows[i] = gRows[i].map { $0 * largest }
        }
        let aRows = evaluation(m)                                        // A, alpha x m
        self.m = m
        self.r = r
        self.alpha = alpha
        at = (0..<m).flatMap { i in (0..<alpha).map { Float(aRows[$0][i]) } }
        g = gRows.flatMap { $0.map(Float.init) }
        bt = btRows.flatMap { $0.map(Float.init) }
        filterTransform = (0..<(alpha * alpha)).flatMap { row in
            (0..<(r * r)).map { column in Float(gRows[row / alpha][column / r] * gRows[row % alpha][column % r]) }
        }
    }

    /// Gauss-Jordan with partial pivoting; the evaluation matrices are small and invertible.
    static func inverse(_ matrix: [[Double]]) -> [[Double]] {
        let n = matrix.count
        var a = matrix.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for column in 0..<n {
            let pivot = (column..<n).max { abs(a[$0][column]) < abs(a[$1][column]) }!
            a.swapAt(column, pivot)
            let scale = a[column][column]
            a[column] = a[column].map { $0 / scale }
            for row in 0..<n where row != column {
                let factor = a[row][column]
                if factor != 0 { a[row] = zip(a[row], a[column]).map { $0 - factor * $1 } }
            }
        }
        return a.map { Array($0[n...]) }
    }
}
