// Fewer points for a long curve (steps.csv holds one row per optimizer step): evenly spaced
// indices that always keep the first and the last point.

public enum Downsample {
    /// At most `maxPoints` increasing indices into 0..<count, including 0 and count - 1.
    public static func indices(count: Int, maxPoints: Int) -> [Int] {
        precondition(maxPoints >= 2, "keeping both ends needs at least 2 points")
        guard count > maxPoints else { return Array(0..<count) }
        let span = Double(count - 1) / Double(maxPoints - 1)
        var out: [Int] = []
        out.reserveCapacity(maxPoints)
        for k in 0..<maxPoints {
            let i = k == maxPoints - 1 ? count - 1 : Int((Double(k) * span).rounded())
            if out.last != i { out.append(i) }
        }
        return out
    }

    public static func keepingEnds<T>(_ values: [T], maxPoints: Int) -> [T] {
        indices(count: values.count, maxPoints: maxPoints).map { values[$0] }
    }
}
