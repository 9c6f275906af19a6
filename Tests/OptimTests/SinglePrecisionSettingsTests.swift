// Settings and rates that pass a check in Double but not in Float, the precision the optimizers compute in:
// each is named by its flag, and the values just inside the range pass.
import Optim
import XCTest

final class SinglePrecisionSettingsTests: XCTestCase {
    func testValuesThatFloatTurnsIntoTheRangesEdgeAreNamed() {
        XCTAssertNil(OptimizerKind.Settings().singlePrecisionProblem)
        let cases: [(WritableKeyPath<OptimizerKind.Settings, Double>, Double, String?)] = [
            (\.beta2, 0.99999999, "--beta2 0.99999999 is 1.0 in single precision, which the optimizers compute in; it must be below 1 there (at most 0.99999994)"),
            (\.beta2, 0.9999999, nil),
            (\.beta1, 0.999999999, "--beta1 0.999999999 is 1.0 in single precision, which the optimizers compute in; it must be below 1 there (at most 0.99999994)"),
            (\.momentum, 0.99999999, "--momentum 0.99999999 is 1.0 in single precision, which the optimizers compute in; it must be below 1 there (at most 0.99999994)"),
            (\.trustCoefficient, 1e-50, "--trust-coefficient 1e-50 is 0.0 in single precision, which the optimizers compute in; it must be positive and finite there (1e-45 to 3.4028235e+38)"),
            (\.trustCoefficient, 1e-45, nil),
            (\.epsilon, 1e-50, "--eps 1e-50 is 0.0 in single precision, which the optimizers compute in; it must be positive and finite there (1e-45 to 3.4028235e+38)"),
            (\.epsilon, 1e39, "--eps 1e+39 is inf in single precision, which the optimizers compute in; it must be positive and finite there (1e-45 to 3.4028235e+38)"),
            (\.weightDecay, 1e39, "--weight-decay 1e+39 is inf in single precision, which the optimizers compute in; it must be finite there (at most 3.4028235e+38)"),
            (\.weightDecay, 1e-50, nil),   // 0 in Float: no decay, which 1e-50 is in effect
        ]
        for (setting, value, message) in cases {
            var settings = OptimizerKind.Settings()
            settings[keyPath: setting] = value
            XCTAssertEqual(settings.singlePrecisionProblem, message, "\(value)")
        }
    }

    func testWhatTheRefusalPrevents() {
        // beta2 1 in Float: v stays 0 and 1 - b2^t is 0, so Adam's first update is 0 / 0; 0.9999999 steps.
        for (beta2, finite) in [(0.99999999, false), (0.9999999, true)] {
            var settings = OptimizerKind.Settings()
            settings.beta2 = beta2
            var p: [Float] = [1, 2]
            OptimizerKind.adam.make(segments: [ParameterSegment(range: 0..<2, isWeight: true)], settings)
                .step(parameters: &p, gradients: [1, -1], gradientScale: 1, learningRate: 0.1)
            XCTAssertEqual(p.allSatisfy(\.isFinite), finite, "beta2 \(beta2): \(p)")
            XCTAssertEqual(settings.singlePrecisionProblem == nil, finite)
        }
    }

    func testRatesThatFloatTurnsIntoZeroOrInfinityAreNamed() {
        func schedule(_ base: Double, batch: Int = 64, start: Double? = nil) -> LRSchedule {
            LRSchedule(baseRate: base, referenceBatch: 64, globalBatch: batch, scaling: .linear, warmupSteps: start == nil ? 0 : 5,
                       warmupStartRate: start, totalSteps: 10, decay: .constant)
        }
        let tail = " in single precision, which the optimizers compute in; it must be positive and finite there (1e-45 to 3.4028235e+38)"
        XCTAssertNil(schedule(0.1).singlePrecisionProblem)
        XCTAssertNil(schedule(1e-45).singlePrecisionProblem)
        XCTAssertEqual(schedule(1e-50).singlePrecisionProblem, "--lr 1e-50 is 0.0" + tail)
        XCTAssertEqual(schedule(1e-50).rate(at: 3), 0, "what the refusal prevents: a run that trains nothing")
        XCTAssertEqual(schedule(1e38, batch: 1024).singlePrecisionProblem, "the peak rate 1.6e+39 (--lr 1e+38 scaled by 16.0) is inf" + tail)
        XCTAssertEqual(schedule(1e38, batch: 1024).rate(at: 0), .infinity)
        XCTAssertEqual(schedule(0.1, start: 1e-60).singlePrecisionProblem, "--warmup-start-lr 1e-60 is 0.0" + tail)
    }
}
