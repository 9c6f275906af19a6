// The random n x p matrix A of Keskar et al. 2017's sharpness in a subspace (metric 2.1 with A
// random, their Table 4 uses p = 100): entries +-1 / sqrt(n) from a seeded generator, so columns
// have unit norm and A^T A = I + O(sqrt(p / n)). Stored as one bit per entry, rows padded to 64-bit words
// (n x 8 ceil(p / 64) bytes: 23 MB for 1.45 M parameters and p = 100, where floats would take 580 MB) and unpacked a block of rows
// at a time for the products, which go to BLAS. Shapes: A (n, p) row-major, x and y (n), z (p).
import Tensor

struct RandomSubspace {
    let rows: Int, columns: Int
    /// Bit j of row i (set: +1 / sqrt(n), clear: -1 / sqrt(n)), `words` UInt64 per row.
    private let bits: [UInt64]
    private let words: Int
    private let magnitude: Float
    private static let blockRows = 1024

    init(rows: Int, columns: Int, seed: UInt64) {
        precondition(rows > columns && columns >= 1, "a subspace of \(columns) dimensions needs more than \(columns) parameters")
        self.rows = rows
        self.columns = columns
        words = (columns + 63) / 64
        magnitude = 1 / Float(rows).squareRoot()
        var rng = SplitMix64(seed: seed, stream: 0x5348_4152_5053_5542)  // "SHARPSUB"
        bits = (0..<(rows * words)).map { _ in rng.next() }
    }

    /// Bytes a measurement holds at its peak: the bits, one unpacked row block, and the p x p Gram
    /// matrix in Float with its Cholesky factor in Double. For MemoryBudget before training: p = 50000
    /// on a 100 K-parameter MLP needs 31 GB, which would end the run after training without its figures.
    static func bytes(rows: Int, columns: Int) -> Double {
        let (n, p) = (Double(rows), Double(columns))
        return n * (p / 64).rounded(.up) * 8 + Double(blockRows) * p * 4 + p * p * (4 + 8)
    }

    /// A[i, j].
    func entry(_ i: Int, _ j: Int) -> Float {
        bits[i * words + j / 64] >> UInt64(j % 64) & 1 == 1 ? magnitude : -magnitude
    }

    /// Calls `body(first row, row count, block)` with consecutive row blocks of A unpacked to floats (count, p).
    private func forEachBlock(_ body: (Int, Int, UnsafePointer<Float>) -> Void) {
        let block = UnsafeMutablePointer<Float>.allocate(capacity: RandomSubspace.blockRows * columns)
        defer { block.deallocate() }
        let (plus, minus) = (magnitude, -magnitude)
        bits.withUnsafeBufferPointer { bits in
            var first = 0
            while first < rows {
                let count = min(RandomSubspace.blockRows, rows - first)
                for r in 0..<count {
                    let row = bits.baseAddress! + (first + r) * words, out = block + r * columns
                    for j in 0..<columns { out[j] = row[j >> 6] >> UInt64(j & 63) & 1 == 1 ? plus : minus }
                }
                body(first, count, block)
                first += count
            }
        }
    }

    /// A^T v (p) for v (n).
    func transposeTimes(_ v: UnsafePointer<Float>) -> [Float] {
        var out = [Float](repeating: 0, count: columns)
        out.withUnsafeMutableBufferPointer { o in
            forEachBlock { first, count, block in
                gemm(transposeA: true, transposeB: false, m: columns, n: 1, k: count, a: block, lda: columns,
                     b: v + first, ldb: 1, beta: 1, c: o.baseAddress!, ldc: 1)
            }
        }
        return out
    }

    /// y = A z (n) for z (p).
    func times(_ z: [Float], into y: UnsafeMutablePointer<Float>) {
        z.withUnsafeBufferPointer { zp in
            forEachBlock { first, count, block in
                gemm(transposeA: false, transposeB: false, m: count, n: 1, k: columns, a: block, lda: columns,
                     b: zp.baseAddress!, ldb: 1, beta: 0, c: y + first, ldc: 1)
            }
        }
    }

    /// A^+ x = (A^T A)^-1 A^T x, the point x in the subspace's coordinates (Keskar et al.'s box is
    /// centred on it): the p x p Gram matrix by blocks in BLAS, then a Cholesky solve in Double.
    func pseudoInverseTimes(_ x: UnsafePointer<Float>) -> [Double] {
        var gram = [Float](repeating: 0, count: columns * columns)
        gram.withUnsafeMutableBufferPointer { g in
            forEachBlock { _, count, block in
                gemm(transposeA: true, transposeB: false, m: columns, n: columns, k: count, a: block, lda: columns,
                     b: block, ldb: columns, beta: 1, c: g.baseAddress!, ldc: columns)
            }
        }
        let p = columns
        var l = gram.map(Double.init)   // lower triangle becomes L with L L^T = A^T A
        for j in 0..<p {
            var d = l[j * p + j]
            for k in 0..<j { d -= l[j * p + k] * l[j * p + k] }
            let pivot = max(d, 1e-12).squareRoot()
            l[j * p + j] = pivot
            for i in (j + 1)..<max(p, j + 1) {
                var s = l[i * p + j]
                for k in 0..<j { s -= l[i * p + k] * l[j * p + k] }
                l[i * p + j] = s / pivot
            }
        }
        var c = transposeTimes(x).map(Double.init)
        for i in 0..<p {   // L w = A^T x
            for k in 0..<i { c[i] -= l[i * p + k] * c[k] }
            c[i] /= l[i * p + i]
        }
        for i in stride(from: p - 1, through: 0, by: -1) {   // L^T c = w
            for k in (i + 1)..<max(p, i + 1) { c[i] -= l[k * p + i] * c[k] }
            c[i] /= l[i * p + i]
        }
        return c
    }
}
