// The matrix products a training step makes, as shapes: what `ddp bench` counts as the step's
// FLOPs and replays alone through cblas_sgemm to measure the GEMM ceiling (the time the step
// would take if it were nothing but its products, on this CPU with these kernels).

public struct GEMMShape: Hashable, Codable, Sendable, CustomStringConvertible {
    public var transposeA: Bool, transposeB: Bool
    public var m: Int, n: Int, k: Int
    /// How many times the step makes this product (e.g. once per sample in a convolution).
    public var count: Int

    public init(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, count: Int = 1) {
        (self.transposeA, self.transposeB, self.m, self.n, self.k, self.count) = (transposeA, transposeB, m, n, k, count)
    }

    /// Multiply-adds count as two.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(count) }

    public var description: String {
        "\(m)x\(k)\(transposeA ? "'" : "") * \(k)x\(n)\(transposeB ? "'" : "")" + (count > 1 ? " x\(count)" : "")
    }
}

public enum GEMMCeiling {
    /// Median seconds to run every product in `shapes` once, over repeats lasting at least
    /// `minimumSeconds` (and at least 5). Operands are made once, filled with small values.
    public static func measure(_ shapes: [GEMMShape], minimumSeconds: Double = 0.3) -> Double {
        let operands = shapes.map { s -> (FloatBuffer, FloatBuffer, FloatBuffer) in
            let (a, b, c) = (FloatBuffer(count: s.m * s.k), FloatBuffer(count: s.k * s.n), FloatBuffer(count: s.m * s.n))
            for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
            for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
            return (a, b, c)
        }
        func once() {
            for (s, (a, b, c)) in zip(shapes, operands) {
                for _ in 0..<s.count {
                    gemm(transposeA: s.transposeA, transposeB: s.transposeB, m: s.m, n: s.n, k: s.k,
                         a: a.pointer, lda: s.transposeA ? s.m : s.k, b: b.pointer, ldb: s.transposeB ? s.k : s.n,
                         beta: 0, c: c.pointer, ldc: s.n)
                }
            }
        }
        once()
        var times: [Double] = []
        let start = monotonicSeconds()
        while times.count < 5 || monotonicSeconds() - start < minimumSeconds {
            let t = monotonicSeconds()
            once()
            times.append(monotonicSeconds() - t)
        }
        return median(times)
    }
}

/// The middle value (mean of the two middle ones for an even count).
public func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of nothing")
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
