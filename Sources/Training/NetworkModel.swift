// The latency-bandwidth model of an allreduce, fitted to measured times, and the step time it
// projects for P ranks, with and without the allreduce behind backward (`ddp netbench`).
// Ring allreduce (Thakur, Rabenseifner & Gropp 2005; Patarasuk & Yuan 2009): each of p ranks
// sends and receives 2(p - 1) messages of n / p bytes, so
//     T(p, n) = 2(p - 1) alpha + 2(p - 1) / p * n * beta
// alpha: seconds per message (latency and software), beta: seconds per byte of one link. The fit
// is least squares on those two regressors, each sample weighted by 1 / T (relative error), so
// small messages, which fix alpha, count as much as large ones, which fix beta.
// Stragglers: a synchronous step waits for the slowest of P ranks, so the compute of a step at P
// ranks is the maximum of P draws from one rank's measured step-to-step spread; its median (the
// figures are median steps) is the spread's 0.5^(1/P) quantile.
import Foundation

public struct AllreduceSample: Codable, Sendable, Equatable {
    public var ranks: Int
    public var bytes: Int
    public var seconds: Double
    public init(ranks: Int, bytes: Int, seconds: Double) { (self.ranks, self.bytes, self.seconds) = (ranks, bytes, seconds) }
}

public struct LatencyBandwidthModel: Codable, Sendable, Equatable {
    public var alpha: Double
    public var beta: Double
    public init(alpha: Double, beta: Double) { (self.alpha, self.beta) = (alpha, beta) }

    /// Seconds of one ring allreduce of `bytes` over `ranks` (0 for one rank).
    public func seconds(ranks: Int, bytes: Int) -> Double {
        guard ranks > 1 else { return 0 }
        let p = Double(ranks)
        return 2 * (p - 1) * alpha + 2 * (p - 1) / p * Double(bytes) * beta
    }

    /// Link bandwidth the fit implies, bits per second.
    public var bitsPerSecond: Double { beta > 0 ? 8 / beta : .infinity }

    /// Weighted least squares over samples with ranks > 1 (at least two distinct (ranks, bytes)).
    public static func fit(_ samples: [AllreduceSample]) -> LatencyBandwidthModel? {
        var (s11, s12, s22, s1y, s2y) = (0.0, 0.0, 0.0, 0.0, 0.0)
        for sample in samples where sample.ranks > 1 && sample.seconds > 0 {
            let p = Double(sample.ranks), w = 1 / sample.seconds
            let x1 = 2 * (p - 1) * w, x2 = 2 * (p - 1) / p * Double(sample.bytes) * w, y = sample.seconds * w
            s11 += x1 * x1; s12 += x1 * x2; s22 += x2 * x2; s1y += x1 * y; s2y += x2 * y
        }
        let determinant = s11 * s22 - s12 * s12
        guard determinant > 1e-12 * s11 * s22 else { return nil }
        let alpha = (s22 * s1y - s12 * s2y) / determinant, beta = (s11 * s2y - s12 * s1y) / determinant
        // Neither term can be negative (noisy small messages can make the free fit's alpha so, and
        // the projections then negative): the best fit with that term held at 0 instead.
        if alpha < 0 { return LatencyBandwidthModel(alpha: 0, beta: max(0, s2y / s22)) }
        if beta < 0 { return LatencyBandwidthModel(alpha: max(0, s1y / s11), beta: 0) }
        return LatencyBandwidthModel(alpha: alpha, beta: beta)
    }
}

/// One rank's step, as measured, to project to more ranks: phase seconds, and the backward pass
/// as the top-level layers run it (last first), each with the lowest gradient offset it completes.
public struct StepProfile: Codable, Sendable {
    public struct BackwardLayer: Codable, Sendable {
        public var seconds: Double
        /// After this layer's backward, gradients from here to the end are final.
        public var completesFrom: Int
    }
    public var dataSeconds: Double
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    public var optimizerSeconds: Double
    public var backward: [BackwardLayer]
    /// Floats of gradients, and of moments plus tail (the last message).
    public var gradientFloats: Int
    public var tailFloats: Int
    /// Bucket cut points (GradientBuckets.boundaries): boundaries[0] = gradientFloats, last 0.
    public var bucketBoundaries: [Int]
    /// One rank's compute (data + forward + backward + optimizer) step by step, over its median,
    /// sorted: the spread that makes the slowest of P ranks late.
    public var computeSpread: [Double] = [1]

    /// Median of the max of `ranks` draws from computeSpread, minus 1: how much later than the
    /// median the slowest rank finishes. P(max <= x) = F(x)^P, so the median max is F's 0.5^(1/P)
    /// quantile (linear between order statistics, as numpy's default).
    public func stragglerFactor(ranks: Int) -> Double {
        let sorted = computeSpread
        guard sorted.count > 1, ranks > 1 else { return 0 }
        let position = pow(0.5, 1 / Double(ranks)) * Double(sorted.count - 1)
        let below = Int(position), fraction = position - Double(below)
        let value = below + 1 < sorted.count ? sorted[below] + fraction * (sorted[below + 1] - sorted[below]) : sorted[below]
        return max(0, value - 1)
    }

    public var computeSeconds: Double { dataSeconds + forwardSeconds + backwardSeconds + optimizerSeconds }

    /// Projected step seconds and the communication left exposed, for `ranks` ranks.
    /// Without overlap: compute, then one allreduce of the whole buffer. With overlap: each bucket
    /// starts when backward has finished its range and the previous one is done; the last bucket
    /// goes after backward with the moments and tail, in one message; the next batch is assembled
    /// while it finishes (Trainer's prefetch).
    public func projected(ranks: Int, overlap: Bool, model: LatencyBandwidthModel) -> (step: Double, exposed: Double) {
        let total = 4 * (gradientFloats + tailFloats)
        // The others wait for the slowest rank, in the allreduce: exposed time, however it overlaps.
        let late = ranks > 1 ? computeSeconds * stragglerFactor(ranks: ranks) : 0
        guard overlap, ranks > 1 else {
            let exposed = model.seconds(ranks: ranks, bytes: total) + late
            return (computeSeconds + exposed, exposed)
        }
        var free = 0.0  // when the communication thread is next free, from the start of backward
        var layer = 0, elapsed = 0.0, ready = gradientFloats
        let last = bucketBoundaries.count - 2
        for bucket in 0..<last {
            let low = bucketBoundaries[bucket + 1]
            while ready > low && layer < backward.count {
                elapsed += backward[layer].seconds
                ready = min(ready, backward[layer].completesFrom)
                layer += 1
            }
            let start = max(free, ready > low ? backwardSeconds : elapsed)
            free = start + model.seconds(ranks: ranks, bytes: 4 * (bucketBoundaries[bucket] - low))
        }
        free = max(free, backwardSeconds) + model.seconds(ranks: ranks, bytes: 4 * (tailFloats + bucketBoundaries[last]))
        let waited = max(free - backwardSeconds, dataSeconds)
        let step = forwardSeconds + backwardSeconds + waited + optimizerSeconds + late
        return (step, step - computeSeconds)
    }
}
