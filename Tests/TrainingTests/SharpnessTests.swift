// Keskar et al. (2017) sharpness against its first-order value: for a small box the maximum of
// f(x + y) - f(x) over |y_i| <= eps (|x_i| + 1) is sum_i |df/dx_i| eps (|x_i| + 1), reached at
// the corner sign(grad); and measuring must leave the weights exactly as they were.
import Collective
import Data
import NN
import Tensor
@testable import Training
import XCTest

final class SharpnessTests: XCTestCase {
    func testSmallBoxSharpnessEqualsTheFirstOrderMaximum() throws {
        var settings = TrainConfig()
        settings.data = "synthetic"
        settings.hidden = [32]
        settings.batchPerRank = 64
        let data = try Trainer.loadData(settings.data, seed: 1)
        let config = try ResolvedConfig(settings, ranks: 1, data: data)
        let trainer = Trainer(config: config, data: data, model: try Trainer.buildModel(settings, data: data),
                              comm: LocalCommunicator())
        try trainer.synchronizeInitialWeights()
        trainer.sampler.startEpoch(0)
        for s in 0..<20 { _ = trainer.trainStep(s, stepInEpoch: s) }
        let before = trainer.parameterChecksum

        // Loss and gradient over the first 512 samples, in Double, independently of the trainer's ascent.
        let samples = 512
        trainer.reduction.zero()
        var loss = 0.0
        for begin in stride(from: 0, to: samples, by: 64) {
            data.train.assemble(range: begin..<(begin + 64), normalizer: data.normalizer, into: trainer.model.input, labels: trainer.labels)
            let logits = trainer.model.forward(batch: 64, context: PassContext(mode: .probe))
            loss += SoftmaxCrossEntropy.evaluate(logits: logits, labels: trainer.labels, batch: 64, classes: 10,
                                                 gradient: trainer.model.outputGradient).loss
            trainer.model.backward(batch: 64, context: PassContext(mode: .probe))
        }
        loss /= Double(samples)
        let eps = 1e-5
        var linearIncrease = 0.0
        for i in 0..<trainer.layout.count {
            let gradient = Double(trainer.reduction.pointer[i]) / Double(samples)
            linearIncrease += abs(gradient) * eps * (abs(Double(trainer.parameters.pointer[i])) + 1)
        }
        let expected = 100 * linearIncrease / (1 + loss)

        let measured = trainer.sharpness(epsilon: eps, samples: samples, steps: 1)
        XCTAssertEqual(measured, expected, accuracy: 0.05 * expected, "measured \(measured) vs first-order \(expected)")
        XCTAssertEqual(trainer.parameterChecksum, before, "weights restored bit for bit")

        // More ascent steps in a box 100x larger can only find a higher loss.
        XCTAssertGreaterThan(trainer.sharpness(epsilon: 1e-3, samples: samples, steps: 5), measured)
        XCTAssertEqual(trainer.parameterChecksum, before)
    }
}
