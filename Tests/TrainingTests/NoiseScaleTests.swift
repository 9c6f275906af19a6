// The online gradient noise scale against the exact B_simple = tr(Sigma) / |G|^2 computed from
// every per-example gradient (McCandlish et al. 2018, appendix A.1), at weights held fixed.
import Collective
import Data
import NN
import Tensor
@testable import Training
import XCTest

final class NoiseScaleTests: XCTestCase {
    /// A trainer on the synthetic set (4096 samples), MLP 784-32-10, one rank.
    func makeTrainer(batchPerRank: Int, accumulate: Int) throws -> Trainer {
        var settings = TrainConfig()
        settings.data = "synthetic"
        settings.hidden = [32]
        settings.batchPerRank = batchPerRank
        settings.accumulate = accumulate
        settings.learningRate = 1e-12  // the weights must stay where the exact value is taken
        settings.optim.momentum = 0
        let data = try Trainer.loadData(settings.data, seed: 1)
        let config = try ResolvedConfig(settings, ranks: 1, data: data)
        let trainer = Trainer(config: config, data: data, model: try Trainer.buildModel(settings, data: data),
                              comm: LocalCommunicator())
        try trainer.synchronizeInitialWeights()
        return trainer
    }

    /// tr(Sigma) / |G|^2 over the whole training set, one example at a time.
    func exactNoiseScale(_ trainer: Trainer) -> Double {
        let count = trainer.layout.count
        let set = trainer.data.train
        var mean = [Double](repeating: 0, count: count)
        var meanSquaredNorm = 0.0
        for i in 0..<set.count {
            trainer.reduction.zero()
            set.assemble(range: i..<(i + 1), normalizer: trainer.data.normalizer, into: trainer.model.input, labels: trainer.labels)
            let logits = trainer.model.forward(batch: 1, context: PassContext(mode: .training))
            _ = SoftmaxCrossEntropy.evaluate(logits: logits, labels: trainer.labels, batch: 1, classes: set.classes,
                                             gradient: trainer.model.outputGradient)
            trainer.model.backward(batch: 1, context: PassContext(mode: .training))
            let g = trainer.gradients
            for j in 0..<count {
                mean[j] += Double(g[j])
                meanSquaredNorm += Double(g[j]) * Double(g[j])
            }
        }
        let n = Double(set.count)
        let squaredNormOfMean = mean.reduce(0) { $0 + ($1 / n) * ($1 / n) }
        return (meanSquaredNorm / n - squaredNormOfMean) / squaredNormOfMean
    }

    func testOneRankWithAccumulationMatchesPerExampleNoiseScale() throws {
        // Small batch: the first micro-batch of 16; big batch: the accumulated step of 128.
        let trainer = try makeTrainer(batchPerRank: 16, accumulate: 8)
        let exact = exactNoiseScale(trainer)
        trainer.noiseScale = GradientNoiseScale(smoothing: 0.995, populationSize: trainer.data.train.count)
        var step = 0
        for epoch in 0..<20 {
            trainer.sampler.startEpoch(epoch)
            for s in 0..<trainer.config.stepsPerEpoch {
                _ = trainer.trainStep(step, stepInEpoch: s)
                step += 1
            }
        }
        let measured = try XCTUnwrap(trainer.noiseScale.value)
        XCTAssertGreaterThan(exact, 1, "a problem where the noise scale is worth measuring")
        XCTAssertEqual(measured, exact, accuracy: 0.05 * exact, "online B_simple \(measured) vs exact \(exact)")
    }

    func testOneRankWithoutAccumulationHasNoSecondBatchSize() throws {
        let trainer = try makeTrainer(batchPerRank: 32, accumulate: 1)
        trainer.sampler.startEpoch(0)
        for s in 0..<10 { _ = trainer.trainStep(s, stepInEpoch: s) }
        XCTAssertNil(trainer.noiseScale.value)
    }

    func testEstimatorRecoversKnownMoments() {
        // E|g_b|^2 = |G|^2 + S / b exactly: with |G|^2 = 2 and S = 300, b = 10, B = 100,
        // |g_b|^2 = 32 and |g_B|^2 = 5, so B_simple = 150 after any number of identical updates.
        var scale = GradientNoiseScale(smoothing: 0.9)
        for _ in 0..<5 {
            scale.update(smallSquaredNorm: 32, smallInverseBatch: 0.1, bigSquaredNorm: 5, bigBatch: 100)
        }
        XCTAssertEqual(scale.squaredNormEstimate!, 2, accuracy: 1e-9)
        XCTAssertEqual(scale.traceEstimate!, 300, accuracy: 1e-9)
        XCTAssertEqual(scale.value!, 150, accuracy: 1e-9)
    }
}
