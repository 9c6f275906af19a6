// An axis's map from data to pixels, linear or log2, and its ticks. Log2 is for batch sizes and
// steps: each doubling is the same distance, so perfect scaling is a straight line of slope -1.
import Foundation

struct Tick {
    let value: Double
    let label: String?   // nil: a tick mark without a label (when labels would crowd)
}

struct Scale {
    enum Kind: String { case linear, log2 }
    let kind: Kind
    /// The data range shown, lo < hi (for log2 both positive).
    let lo: Double, hi: Double
    /// Distance between linear ticks (nil: about five round steps over the range).
    var step: Double? = nil
    /// On log2: also tick 1.5 times each power of two when the axis spans fewer than three doublings.
    var subdivide = false

    /// Linear over the data with a little room, widened to round tick values.
    static func linear(covering values: [Double], includeZero: Bool = false, pad: Double = 0.05) -> Scale {
        var finite = values.filter(\.isFinite).map { Swift.min(Swift.max($0, -largest), largest) }
        if includeZero { finite.append(0) }
        guard var lo = finite.min(), var hi = finite.max() else { return Scale(kind: .linear, lo: 0, hi: 1) }
        // A span within a few ulps of the values is widened too: a tick step below their spacing
        // would never advance the tick loop.
        if hi - lo < Swift.max(1e-12, 1e-9 * Swift.max(abs(lo), abs(hi))) {
            let half = Swift.max(abs(lo) * 0.05, 1e-3)
            lo -= half
            hi += half
        }
        let room = (hi - lo) * pad
        if !(includeZero && lo == 0) { lo -= room }
        hi += room
        let step = niceStep((hi - lo) / 5)
        return Scale(kind: .linear, lo: (lo / step).rounded(.down) * step, hi: (hi / step).rounded(.up) * step, step: step)
    }

    /// Log2 over positive values, half a doubling of room at each end.
    static func log2(covering values: [Double], subdivide: Bool = false) -> Scale {
        let positive = values.filter { $0.isFinite && $0 > 0 }.map { Swift.min(Swift.max($0, 1 / largest), largest) }
        guard let lo = positive.min(), let hi = positive.max() else { return Scale(kind: .log2, lo: 1, hi: 2, subdivide: subdivide) }
        return Scale(kind: .log2, lo: lo / 2.0.squareRoot(), hi: hi * 2.0.squareRoot(), subdivide: subdivide)
    }

    /// The largest magnitude an axis covers: a quarter of Double's range, so padding, rounding to a
    /// tick and the log2 axis's extra half doubling stay finite. A value beyond it (only a damaged or
    /// hand-edited file holds one) is drawn at the edge or left out, never turned into an infinite
    /// axis, which trapped converting a tick to Int or looped on ticks forever.
    static let largest = Double.greatestFiniteMagnitude / 4

    /// 0 at `lo`, 1 at `hi`.
    func fraction(_ value: Double) -> Double {
        switch kind {
        case .linear: return (value - lo) / (hi - lo)
        case .log2: return (Foundation.log2(value) - Foundation.log2(lo)) / (Foundation.log2(hi) - Foundation.log2(lo))
        }
    }

    func contains(_ value: Double) -> Bool {
        value.isFinite && value >= lo - 1e-12 * abs(lo) && value <= hi + 1e-12 * abs(hi) && (kind == .linear || value > 0)
    }

    /// Round values for a linear axis; powers of two for log2, at most 9 of them labelled.
    var ticks: [Tick] {
        switch kind {
        case .linear:
            let step = self.step ?? Scale.niceStep((hi - lo) / 5)
            let digits = max(0, -Int(Foundation.log10(step).rounded(.down)))
            var values: [Double] = []
            var k = (lo / step).rounded(.up)
            while k * step <= hi + step * 1e-9 {
                values.append(k * step)
                k += 1
            }
            return values.map { Tick(value: $0, label: String(format: "%.\(digits)f", abs($0) < step * 1e-9 ? 0 : $0)) }
        case .log2:
            let first = Int(Foundation.log2(lo).rounded(.up)), last = Int(Foundation.log2(hi).rounded(.down))
            let powers = first <= last ? Array(first...last) : []
            if subdivide, Foundation.log2(hi / lo) < 3 {
                let values = (first - 1...last).flatMap { e in [Foundation.pow(2.0, Double(e)), 1.5 * Foundation.pow(2.0, Double(e))] }
                return values.filter { $0 >= lo && $0 <= hi }.map { Tick(value: $0, label: Format.number($0)) }
            }
            let every = Swift.max(1, (powers.count + 8) / 9)  // at most 9 labels: every other up to 18 powers
            return powers.enumerated().map { i, e in
                let value = Foundation.pow(2.0, Double(e))
                return Tick(value: value, label: (i % every == 0) ? Scale.powerOfTwoLabel(e) : nil)
            }
        }
    }

    static func powerOfTwoLabel(_ exponent: Int) -> String {
        if exponent > 62 { return "2^\(exponent)" }
        if exponent >= 0 { return String(1 << exponent) }
        return Format.number(Foundation.pow(2.0, Double(exponent)))
    }

    /// 1, 2 or 5 times a power of ten, at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let power = Foundation.pow(10, Foundation.log10(rough).rounded(.down))
        let mantissa = rough / power
        return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * power
    }
}
