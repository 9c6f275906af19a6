// The sharpness tests' shared setup: a trainer after 20 steps, and the loss and gradient sum of
// the first samples computed apart from the trainer's ascent.
import Collective
import Data
import NN
import Tensor
@testable import Training
import XCTest

extension XCTestCase {
    /// A trainer of `model` on synthetic data after 20 steps at batch 64, on one rank.
    func trained(model: String) throws -> Trainer {
        var settings = TrainConfig()
        settings.data = "synthetic"
        settings.model = model
        settings.hidden = [32]
        settings.batchPerRank = 64
        let data = try Trainer.loadData(settings.data, seed: 1)
        let config = try ResolvedConfig(settings, ranks: 1, data: data)
        let trainer = Trainer(config: config, data: data, model: try Trainer.buildModel(settings, data: data),
                              comm: LocalCommunicator())
        try trainer.synchronizeInitialWeights()
        trainer.sampler.startEpoch(0)
        for s in 0..<20 { _ = trainer.trainStep(s, stepInEpoch: s) }
        return trainer
    }

    /// Mean loss over the first `samples` (a multiple of 64) in a probe pass, with the gradient SUM
    /// left in the reduction buffer: computed here, apart from the trainer's ascent.
    func referenceLoss(_ trainer: Trainer, samples: Int) -> Double {
        let data = trainer.data
        trainer.reduction.zero()
        var loss = 0.0
        for begin in stride(from: 0, to: samples, by: 64) {
            data.train.assemble(range: begin..<(begin + 64), normalizer: data.normalizer, into: trainer.model.input, labels: trainer.labels)
            let logits = trainer.model.forward(batch: 64, context: PassContext(mode: .probe))
            loss += SoftmaxCrossEntropy.evaluate(logits: logits, labels: trainer.labels, batch: 64, classes: 10,
                                                 gradient: trainer.model.outputGradient).loss
            trainer.model.backward(batch: 64, context: PassContext(mode: .probe))
        }
        return loss / Double(samples)
    }
}
