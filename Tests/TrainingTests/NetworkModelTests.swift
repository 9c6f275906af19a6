// The latency-bandwidth fit and the step projection of `ddp netbench` (NetworkModel), and the
// bucket cut points (GradientBuckets), against values worked out by hand.
import Foundation
import NN
@testable import Report
import XCTest
@testable import Training

final class NetworkModelTests: XCTestCase {
    func testFitRecoversTheLatencyAndBandwidthOfASyntheticMeasurementSet() throws {
        // 25 us per message, 10 Gbit/s per link; 2, 3 and 4 ranks, 4 KB to 16 MB.
        let truth = LatencyBandwidthModel(alpha: 25e-6, beta: 8 / 10e9)
        var samples: [AllreduceSample] = []
        for ranks in 2...4 {
            for kb in [4, 16, 64, 256, 1024, 4096, 16384] {
                let p = Double(ranks), bytes = kb * 1024
                samples.append(AllreduceSample(ranks: ranks, bytes: bytes, seconds: 2 * (p - 1) * 25e-6 + 2 * (p - 1) / p * Double(bytes) * 8 / 10e9))
            }
        }
        let fit = try XCTUnwrap(LatencyBandwidthModel.fit(samples))
        XCTAssertEqual(fit.alpha, truth.alpha, accuracy: 1e-9 * truth.alpha)
        XCTAssertEqual(fit.beta, truth.beta, accuracy: 1e-9 * truth.beta)
        XCTAssertEqual(fit.bitsPerSecond, 10e9, accuracy: 1)
        for sample in samples {
            XCTAssertEqual(fit.seconds(ranks: sample.ranks, bytes: sample.bytes), sample.seconds, accuracy: 1e-9 * sample.seconds)
        }
        // One size and one rank count cannot separate latency from bandwidth; one rank sends nothing.
        XCTAssertNil(LatencyBandwidthModel.fit(Array(samples.prefix(1))))
        XCTAssertEqual(truth.seconds(ranks: 1, bytes: 1 << 20), 0)
    }

    /// Small messages slower than large ones (noise on a loaded machine) make the free fit's alpha
    /// negative, and then projections negative; the fit holds a term at 0 instead. Hand-worked: with
    /// alpha = 0 the weighted least squares gives beta = sum(x2 y w^2) / sum(x2^2 w^2).
    func testFitNeverGivesANegativeTerm() throws {
        // Unconstrained: alpha -21.5 us, beta 1.95 ns/B (numpy lstsq on the same weighted system).
        let samples = [AllreduceSample(ranks: 2, bytes: 1 << 20, seconds: 2e-3), AllreduceSample(ranks: 2, bytes: 2 << 20, seconds: 4.1e-3),
                       AllreduceSample(ranks: 2, bytes: 4 << 20, seconds: 8.1e-3)]
        let fit = try XCTUnwrap(LatencyBandwidthModel.fit(samples))
        var (s22, s2y) = (0.0, 0.0)
        for sample in samples {
            let w = 1 / sample.seconds, x2 = Double(sample.bytes) * w  // 2(p-1)/p = 1 at p = 2
            (s22, s2y) = (s22 + x2 * x2, s2y + x2 * sample.seconds * w)
        }
        XCTAssertEqual(fit.alpha, 0)
        XCTAssertEqual(fit.beta, s2y / s22, accuracy: 1e-15)
        XCTAssertGreaterThan(fit.seconds(ranks: 4096, bytes: 4), 0)
        // Large messages no slower than small ones: beta held at 0, alpha the weighted mean.
        let flat = try XCTUnwrap(LatencyBandwidthModel.fit([AllreduceSample(ranks: 2, bytes: 4, seconds: 2e-5), AllreduceSample(ranks: 2, bytes: 1 << 16, seconds: 1e-5)]))
        XCTAssertEqual(flat.beta, 0)
        XCTAssertGreaterThan(flat.alpha, 0)
    }

    func testProjectionWithAndWithoutOverlapMatchesTheHandWorkedPipeline() {
        // 2000 gradient floats in two buckets of 1000 (4000 B, 2 ms each at 2 ranks), 10 tail floats;
        // backward: the last layer (floats 1000..<2000) in 5 ms, then the first in 5 ms.
        let model = LatencyBandwidthModel(alpha: 0, beta: 2e-3 / 4000)
        let profile = StepProfile(dataSeconds: 1e-3, forwardSeconds: 10e-3, backwardSeconds: 10e-3, optimizerSeconds: 1e-3,
                                  backward: [.init(seconds: 5e-3, completesFrom: 1000), .init(seconds: 5e-3, completesFrom: 0)],
                                  gradientFloats: 2000, tailFloats: 10, bucketBoundaries: [2000, 1000, 0])
        // Without: compute 22 ms, then 8040 B = 4.02 ms.
        let plain = profile.projected(ranks: 2, overlap: false, model: model)
        XCTAssertEqual(plain.exposed, 4.02e-3, accuracy: 1e-12)
        XCTAssertEqual(plain.step, 26.02e-3, accuracy: 1e-12)
        // With: bucket 1 from 5 to 7 ms, bucket 2 with the tail from 10 to 12.02; 2.02 ms after
        // backward, more than the 1 ms prefetch of the next batch: 10 + 10 + 2.02 + 1 ms.
        let hidden = profile.projected(ranks: 2, overlap: true, model: model)
        XCTAssertEqual(hidden.step, 23.02e-3, accuracy: 1e-12)
        XCTAssertEqual(hidden.exposed, 1.02e-3, accuracy: 1e-12)
        // 4 ranks: 2(p-1)/p = 1.5 times the bytes; bucket 1 ends at 8 ms, bucket 2 and the tail at 13.03.
        XCTAssertEqual(profile.projected(ranks: 4, overlap: true, model: model).step, 24.03e-3, accuracy: 1e-12)
        // 0.1 ms a message (2(p-1) = 2 messages an allreduce at 2 ranks): 0.2 ms more per allreduce,
        // twice with buckets (bucket 1 from 5 to 7.2 ms, the last with the tail from 10 to 12.22).
        let latency = LatencyBandwidthModel(alpha: 0.1e-3, beta: model.beta)
        XCTAssertEqual(profile.projected(ranks: 2, overlap: false, model: latency).exposed, 4.22e-3, accuracy: 1e-12)
        XCTAssertEqual(profile.projected(ranks: 2, overlap: true, model: latency).step, 23.22e-3, accuracy: 1e-12)
        // One rank: no communication either way.
        XCTAssertEqual(profile.projected(ranks: 1, overlap: true, model: model).step, 22e-3, accuracy: 1e-12)
    }

    func testStragglerFactorIsTheMedianMaximumOverRanks() {
        // Steps at 0.5, 1 and 1.5 of the median: the median of the max of 2 draws is the 1/sqrt(2)
        // quantile, at position 0.7071 x 2 between 1 and 1.5: 1 + 0.4142 x 0.5; one rank is never late.
        let late = (2 / 2.0.squareRoot() - 1) * 0.5
        var profile = StepProfile(dataSeconds: 0, forwardSeconds: 0.5, backwardSeconds: 0.5, optimizerSeconds: 0,
                                  backward: [.init(seconds: 0.5, completesFrom: 0)], gradientFloats: 10, tailFloats: 0, bucketBoundaries: [10, 0])
        profile.setSpread([1.5, 0.5, 1])
        XCTAssertEqual(profile.computeSpread, [0.5, 1, 1.5])
        XCTAssertEqual(profile.stragglerFactor(ranks: 2), late, accuracy: 1e-12)
        XCTAssertEqual(profile.stragglerFactor(ranks: 1000), 0.5 * (1 - 2 * (1 - pow(0.5, 1.0 / 1000))), accuracy: 1e-12)
        XCTAssertEqual(profile.stragglerFactor(ranks: 1), 0, accuracy: 1e-12)
        // Without communication cost the projected step is the compute of the slowest rank: 1 s x (1 + late).
        let free = LatencyBandwidthModel(alpha: 0, beta: 0)
        XCTAssertEqual(profile.projected(ranks: 2, overlap: false, model: free).step, 1 + late, accuracy: 1e-12)
        XCTAssertEqual(profile.projected(ranks: 2, overlap: true, model: free).step, 1 + late, accuracy: 1e-12)
    }

    func testBucketsAreCutFromTheEndAtTensorBoundaries() {
        // Dense 10 -> 30 (300 weights, 30 biases), Dense 30 -> 20 (600, 20), Dense 20 -> 5 (100, 5).
        let model = Model(layers: [Dense(inputSize: 10, outputSize: 30, activation: .relu), Dense(inputSize: 30, outputSize: 20, activation: .relu),
                                   Dense(inputSize: 20, outputSize: 5, activation: .none)])
        let layout = model.layout
        XCTAssertEqual(layout.count, 1055)
        XCTAssertEqual(layout.slices.map(\.offset), [0, 300, 330, 930, 950, 1050])
        // At least 100 floats: 105 from the last layer, 620 from the middle one, the first layer's 330.
        XCTAssertEqual(GradientBuckets.boundaries(slices: layout.slices, count: layout.count, bucketFloats: 100), [1055, 950, 330, 0])
        XCTAssertEqual(GradientBuckets.boundaries(slices: layout.slices, count: layout.count, bucketFloats: 1), [1055, 1050, 950, 930, 330, 300, 0])
        XCTAssertEqual(GradientBuckets.boundaries(slices: layout.slices, count: layout.count, bucketFloats: 10_000), [1055, 0])
        // The noise scale's |g|^2 bucket by bucket equals the whole buffer's, bit for bit.
        var gradients = (0..<1055).map { Float(($0 * 7919) % 1000) / 997 - 0.5 }
        var whole = 0.0, pieces = 0.0
        let cuts = GradientBuckets.boundaries(slices: layout.slices, count: layout.count, bucketFloats: 100)
        gradients.withUnsafeMutableBufferPointer { g in
            GradientBuckets.addSquaredNorm(g.baseAddress!, tensors: GradientBuckets.tensors(layout), in: 0 ..< 1055, to: &whole)
            for i in 0..<(cuts.count - 1) {
                GradientBuckets.addSquaredNorm(g.baseAddress!, tensors: GradientBuckets.tensors(layout), in: cuts[i + 1] ..< cuts[i], to: &pieces)
            }
        }
        XCTAssertEqual(whole.bitPattern, pieces.bitPattern)
        XCTAssertGreaterThan(whole, 0)
    }

    func testCommunicationStopsMatteringFromTheSmallestBatchWhoseLargerOnesAllHold() {
        // Network-alone efficiency by batch per rank (given out of order), at 8 and 64 ranks, without
        // and with overlap. 8 ranks: 0.85, 0.90, 0.97 -> from 128 (0.90 is exactly the bound);
        // overlap 0.95, 0.80, 0.99: 32 holds but 128 does not, so only from 512.
        // 64 ranks: 0.50, 0.70, 0.89 -> none; overlap 0.60, 0.91, 0.95 -> from 128.
        func projection(_ ranks: Int, _ plain: Double, _ overlap: Double) -> NetProjection {
            NetProjection(ranks: ranks, samplesPerSec: 1, weakScalingEfficiency: 0, exposedSeconds: 0, overlapSamplesPerSec: 1,
                          overlapWeakScalingEfficiency: 0, overlapExposedSeconds: 0, stragglerSeconds: 0,
                          networkEfficiency: plain, overlapNetworkEfficiency: overlap)
        }
        let rows: [(batchPerRank: Int, projections: [NetProjection])] = [
            (128, [projection(8, 0.90, 0.80), projection(64, 0.70, 0.91)]),
            (32, [projection(8, 0.85, 0.95), projection(64, 0.50, 0.60)]),
            (512, [projection(8, 0.97, 0.99), projection(64, 0.89, 0.95)]),
        ]
        XCTAssertEqual(NetworkBench.communicationThresholds(rows), [
            CommunicationThreshold(ranks: 8, batchPerRank: 128, overlapBatchPerRank: 512),
            CommunicationThreshold(ranks: 64, batchPerRank: nil, overlapBatchPerRank: 128),
        ])
        XCTAssertEqual(NetworkBench.communicationThresholds([]), [])
        // The sweep report's measured answer uses the same bound as this projected one.
        XCTAssertEqual(NetworkBench.mattersAbove, CommunicationShare.mattersAbove)
    }
}
