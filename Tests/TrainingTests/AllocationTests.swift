// "No allocation inside the training step", counted: malloc is interposed in this test
// executable (CAllocationCounter) and every allocation the step's thread makes is counted.
import CAllocationCounter
import Collective
import Data
import Tensor
@testable import Training
import XCTest

final class AllocationTests: XCTestCase {
    override func setUp() {
        // As ddp runs: threaded OpenBLAS drivers allocate per call, the single-thread path does not.
        BLASInfo.setThreads(1)
    }

    func allocationsPerStep(model: String, batchPerRank: Int, accumulate: Int, ghostBatch: Int? = nil,
                            augment: Augmentation? = nil) throws -> Int {
        var settings = TrainConfig()
        settings.augment = augment
        settings.data = "synthetic"
        settings.model = model
        settings.batchPerRank = batchPerRank
        settings.accumulate = accumulate
        settings.ghostBatch = ghostBatch
        let data = try Trainer.loadData(settings.data, seed: 1)
        let config = try ResolvedConfig(settings, ranks: 1, data: data)
        let trainer = Trainer(config: config, data: data, model: try Trainer.buildModel(settings, data: data), comm: LocalCommunicator())
        try trainer.synchronizeInitialWeights()
        trainer.sampler.startEpoch(0)
        _ = trainer.trainStep(0, stepInEpoch: 0)
        allocation_counter_start()
        for s in 1...10 { _ = trainer.trainStep(s, stepInEpoch: s) }
        return allocation_counter_stop()
    }

    func testCounterSeesAnAllocation() {
        allocation_counter_start()
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 1000)
        let count = allocation_counter_stop()
        buffer.deallocate()
        XCTAssertGreaterThanOrEqual(count, 1, "the interposed malloc counts")
    }

    func testMLPStepAllocatesNothing() throws {
        XCTAssertEqual(try allocationsPerStep(model: "mlp", batchPerRank: 32, accumulate: 2), 0)
    }

    func testCNNStepAllocatesNothing() throws {
        XCTAssertEqual(try allocationsPerStep(model: "cnn", batchPerRank: 8, accumulate: 2), 0)
    }

    func testAugmentedCNNStepAllocatesNothing() throws {
        XCTAssertEqual(try allocationsPerStep(model: "cnn", batchPerRank: 8, accumulate: 2, augment: Augmentation(cropPadding: 4, flip: true)), 0)
    }

    func testResNet8StepAllocatesNothing() throws {
        // BatchNorm with ghost groups, residual blocks with and without projection, the state update, augmentation.
        XCTAssertEqual(try allocationsPerStep(model: "resnet8", batchPerRank: 8, accumulate: 2, ghostBatch: 4,
                                              augment: Augmentation(cropPadding: 4, flip: true)), 0)
    }

    func testKeskarC1StepAllocatesNothing() throws {
        // Overlapping pools, BatchNorm after dense layers, dropout masks.
        XCTAssertEqual(try allocationsPerStep(model: "keskar-c1", batchPerRank: 8, accumulate: 2), 0)
    }
}
