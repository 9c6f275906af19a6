// The sweep budgets beyond epochs and steps: regime adaptation (Hoffer et al. 2017) gives every
// batch the same step count with warmup and decay moved alike, and the plateau rule stops where
// PyTorch's relative threshold says on a crafted loss sequence.
import Data
import Optim
@testable import Training
import XCTest

final class BudgetTests: XCTestCase {
    func testRegimeGivesEqualStepCountsWithDecayAndWarmupEpochsScaled() throws {
        // Synthetic data: 4096 samples. Reference batch 64: 64 steps per epoch, so regime:2 is 128 steps
        // at every batch; decay at reference epoch 1 is step 64 and half a warmup epoch is 32 steps.
        let data = try Trainer.loadData("synthetic", seed: 1)
        var base = TrainConfig()
        base.data = "synthetic"
        base.referenceBatch = 64
        base.decay = .step
        base.decayEpochs = [1]
        base.warmupEpochs = 0.5
        let plan = SweepPlan(base: base, globalBatches: [64, 256, 1000], rules: [try ScalingRule("linear+warmup")], seeds: [1],
                             budget: try Budget("regime:2"), warmupEpochs: 0.5, larsLearningRate: 0.1, directory: nil)
        var epochsByBatch: [Int: Int] = [:]
        for point in plan.points(in: "/tmp/x") {
            let config = try ResolvedConfig(point.settings, ranks: 2, data: data)
            XCTAssertEqual(config.totalSteps, 128, point.name)
            XCTAssertEqual(config.schedule.milestones, [64], point.name)
            XCTAssertEqual(config.schedule.warmupSteps, 32, point.name)
            XCTAssertTrue(point.name.hasSuffix("linear+warmup+regime-s1"), point.name)
            epochsByBatch[config.globalBatch] = config.epochs
        }
        // Epochs grow as B / reference: 2, 8 and 128 / 5 steps per epoch = 25.6 -> 26 epochs (the last one cut).
        XCTAssertEqual(epochsByBatch, [64: 2, 256: 8, 1000: 26])
        // The decay milestone in epochs of each batch is 1 x B / reference (up to the rounding of steps per epoch).
        let big = try ResolvedConfig(plan.points(in: "/tmp/x")[1].settings, ranks: 2, data: data)
        XCTAssertEqual(Double(big.schedule.milestones[0]) / Double(big.stepsPerEpoch), 1.0 * 256 / 64)
    }

    func testRegimeCountsTheReferenceBatchsShortLastStep() throws {
        // 4096 samples at reference batch 100: 40 full steps and one of 96, so a reference epoch is
        // 41 steps and regime:2 is 82 steps at every batch (rounding down would give 80). Warmup of
        // one reference epoch is 41 steps, and decay at reference epoch 1 is step 41, at each batch:
        // at 100 itself (41 steps an epoch) and at 256 (16 steps an epoch: 1 x 41 / 16 of its epochs).
        let data = try Trainer.loadData("synthetic", seed: 1)
        for global in [100, 256] {
            var settings = TrainConfig()
            settings.data = "synthetic"
            settings.referenceBatch = 100
            settings.globalBatch = global
            settings.regimeEpochs = 2
            settings.warmupEpochs = 1
            settings.decay = .step
            settings.decayEpochs = [1]
            let config = try ResolvedConfig(settings, ranks: 2, data: data)
            XCTAssertEqual(config.stepsPerEpoch, (4096 + global - 1) / global, "batch \(global)")
            XCTAssertEqual(config.totalSteps, 82, "batch \(global)")
            XCTAssertEqual(config.schedule.warmupSteps, 41, "batch \(global)")
            XCTAssertEqual(config.schedule.milestones, [41], "batch \(global)")
        }
    }

    func testBudgetsParseAndApply() throws {
        var c = TrainConfig()
        try Budget("plateau:3:40").apply(to: &c)
        XCTAssertEqual(c.plateauPatience, 3)
        XCTAssertEqual(c.epochs, 40)
        try Budget("plateau:2").apply(to: &c)
        XCTAssertEqual(c.epochs, Budget.defaultPlateauMaximum)
        try Budget("epochs:7").apply(to: &c)
        XCTAssertNil(c.plateauPatience)
        XCTAssertEqual(c.epochs, 7)
        for bad in ["plateau", "plateau:0", "regime:2:3", "plateau:1:2:3", "epochs:x", "weeks:3", "regime:-1"] {
            XCTAssertThrowsError(try Budget(bad), bad)
        }
    }

    func testPlateauStopsAfterPatienceEpochsWithoutARelativeImprovement() {
        // Patience 2, threshold 1e-3 relative to the best so far (best moves only on an improvement).
        //   1.0 best; 0.5 improves; 0.4996 is 0.08% lower: no (1); 0.4992 is 0.16% below 0.5: improves, best 0.4992;
        //   0.499 no (1); 0.4988 no (0.08% below 0.4992) (2) -> stop after the 6th epoch.
        var rule = PlateauRule(patience: 2)
        let losses = [1.0, 0.5, 0.4996, 0.4992, 0.499, 0.4988, 0.1]
        let stops = losses.map { rule.observe($0) }
        XCTAssertEqual(stops, [false, false, false, false, false, true, false])
        XCTAssertEqual(rule.best, 0.1)

        // A NaN is never an improvement; a rising loss counts as none.
        var other = PlateauRule(patience: 2)
        XCTAssertEqual([2.0, .nan, 3.0].map { other.observe($0) }, [false, false, true])
        XCTAssertEqual(other.best, 2.0)
    }

    func testRemedyRulesRoundTripThroughRunNamesAndRunOnlyAboveTheSmallestBatch() throws {
        // Hoffer et al.'s Table 1 as one grid: the baseline at both batches, the remedies at the large one.
        let rules = try ["none", "sqrt", "sqrt+gb128", "sqrt+gb128+regime", "lamb", "none+local8after1"].map(ScalingRule.init)
        var base = TrainConfig()
        base.batchPerRank = 128
        let plan = SweepPlan(base: base, globalBatches: [256, 4096], rules: rules, seeds: [1], budget: .epochs(3),
                             warmupEpochs: 1, larsLearningRate: 0.1, remediesAboveSmallestOnly: true, directory: nil)
        let points = plan.points(in: "/tmp/x")
        XCTAssertEqual(points.map(\.name), ["b00256-none-s1", "b04096-none-s1", "b04096-sqrt-s1", "b04096-sqrt+gb128-s1",
                                            "b04096-sqrt+gb128+regime-s1", "b04096-lamb+sqrt+warmup-s1", "b04096-none+local8after1-s1"])
        let regime = points[4].settings
        XCTAssertEqual(regime.ghostBatch, 128)
        XCTAssertEqual(regime.regimeEpochs, 3, "the epochs budget becomes regime:3")
        XCTAssertEqual(points[3].settings.regimeEpochs, nil)
        XCTAssertEqual(points[5].settings.optimizer, .lamb)
        XCTAssertEqual(points[6].settings.sync, LocalSync(period: 8, afterEpochs: 1))
        // The rule column of results.csv parses back to the same rule.
        for point in points {
            XCTAssertEqual(try ScalingRule(point.settings.ruleName).description, point.settings.ruleName)
        }
        for bad in ["sqrt+gb0", "sqrt+regime+regime", "gb128", "sqrt+local", "sqrt+local8afterx", "sqrt+"] {
            XCTAssertThrowsError(try ScalingRule(bad), bad)
        }
    }
}
