// Exact rates at chosen steps for every scaling, warmup and decay.
import Optim
import XCTest

final class LRScheduleTests: XCTestCase {
    func schedule(_ scaling: LRScaling, batch: Int = 256, warmup: Int = 0, total: Int = 100,
                  decay: LRDecay = .constant, milestones: [Int] = []) -> LRSchedule {
        LRSchedule(baseRate: 0.1, referenceBatch: 64, globalBatch: batch, scaling: scaling,
                   warmupSteps: warmup, totalSteps: total, decay: decay, milestones: milestones)
    }

    func testScalingRules() {
        XCTAssertEqual(schedule(.none).rate(at: 0), 0.1, accuracy: 1e-7)
        XCTAssertEqual(schedule(.linear).rate(at: 0), 0.4, accuracy: 1e-7)   // 256 / 64 = 4
        XCTAssertEqual(schedule(.sqrt).rate(at: 0), 0.2, accuracy: 1e-7)     // sqrt 4 = 2
        XCTAssertEqual(schedule(.linear, batch: 32).rate(at: 5), 0.05, accuracy: 1e-7)
    }

    func testGoyalWarmupRampsPerStepFromBaseToPeak() {
        let s = schedule(.linear, warmup: 10)
        XCTAssertEqual(s.rate(at: 0), 0.1, accuracy: 1e-7)
        XCTAssertEqual(s.rate(at: 5), 0.25, accuracy: 1e-7)    // 0.1 + 0.3 * 5/10
        XCTAssertEqual(s.rate(at: 9), 0.37, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 10), 0.4, accuracy: 1e-7)
        XCTAssertEqual(s.rate(at: 99), 0.4, accuracy: 1e-7)
    }

    func testWarmupFromAChosenStartRateWithoutScaling() {
        // Seed article 003: no scaling, warmup from lr / 5 to lr.
        let s = LRSchedule(baseRate: 0.001, referenceBatch: 64, globalBatch: 256, scaling: .none,
                           warmupSteps: 4, warmupStartRate: 0.0002, totalSteps: 20, decay: .constant)
        XCTAssertEqual(s.rate(at: 0), 0.0002, accuracy: 1e-9)
        XCTAssertEqual(s.rate(at: 2), 0.0006, accuracy: 1e-9)
        XCTAssertEqual(s.rate(at: 4), 0.001, accuracy: 1e-9)
    }

    func testStepDecayAtMilestones() {
        let s = schedule(.sqrt, decay: .step, milestones: [50, 75])
        XCTAssertEqual(s.rate(at: 49), 0.2, accuracy: 1e-7)
        XCTAssertEqual(s.rate(at: 50), 0.02, accuracy: 1e-7)
        XCTAssertEqual(s.rate(at: 75), 0.002, accuracy: 1e-8)
    }

    func testCosineAfterWarmup() {
        let s = schedule(.linear, warmup: 20, total: 120, decay: .cosine)
        XCTAssertEqual(s.rate(at: 20), 0.4, accuracy: 1e-7)
        XCTAssertEqual(s.rate(at: 70), 0.2, accuracy: 1e-7)     // half way: cos(pi/2) = 0
        XCTAssertEqual(s.rate(at: 120), 0, accuracy: 1e-7)
        XCTAssertEqual(s.rate(at: 45), Float(0.4 * 0.5 * (1 + cos(Double.pi * 0.25))), accuracy: 1e-7)
    }
}
