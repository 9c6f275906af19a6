// --augment inside the trainer: training batches are augmented, evaluation batches never are.
import Collective
import Data
@testable import Training
import XCTest

final class AugmentedTrainingTests: XCTestCase {
    func makeTrainer(augment: Augmentation?) throws -> Trainer {
        var settings = TrainConfig()
        settings.data = "synthetic"
        settings.batchPerRank = 16
        settings.augment = augment
        let data = try Trainer.loadData(settings.data, seed: 1)
        let config = try ResolvedConfig(settings, ranks: 1, data: data)
        let trainer = Trainer(config: config, data: data, model: try Trainer.buildModel(settings, data: data), comm: LocalCommunicator())
        try trainer.synchronizeInitialWeights()
        trainer.sampler.startEpoch(0)
        return trainer
    }

    func testEvaluationIsNeverAugmentedAndTrainingIs() throws {
        let plain = try makeTrainer(augment: nil)
        let augmented = try makeTrainer(augment: Augmentation(cropPadding: 4, flip: true))
        XCTAssertEqual(plain.parameterChecksum, augmented.parameterChecksum, "the same initial weights")
        let a = plain.evaluate(), b = augmented.evaluate()
        XCTAssertEqual([a.trainLoss, a.trainAcc, a.testLoss, a.testAcc], [b.trainLoss, b.trainAcc, b.testLoss, b.testAcc],
                       "evaluation reads the sets as they are")
        // The same samples, augmented: the step's loss and the weights it leaves differ.
        let stepPlain = plain.trainStep(0, stepInEpoch: 0), stepAugmented = augmented.trainStep(0, stepInEpoch: 0)
        XCTAssertNotEqual(stepPlain.lossMean, stepAugmented.lossMean)
        XCTAssertNotEqual(plain.parameterChecksum, augmented.parameterChecksum)
    }

    func testAPaddingLargerThanTheImagesIsRefused() throws {
        var settings = TrainConfig()
        settings.data = "synthetic"
        settings.augment = Augmentation(cropPadding: 29)
        let data = try Trainer.loadData(settings.data, seed: 1)
        XCTAssertThrowsError(try ResolvedConfig(settings, ranks: 1, data: data)) {
            XCTAssertTrue("\($0)".hasPrefix("--augment crop:29: padding 29 is larger than the 28 x 28 images"), "\($0)")
        }
    }
}
