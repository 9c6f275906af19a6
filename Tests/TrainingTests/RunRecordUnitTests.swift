// What a run records, piece by piece: the console's timing table (min / median / max over ranks),
// TensorBoard scalars (never a NaN written as a point), and the run's progress (steps to target
// is the first evaluation at or above it; best and last as evaluated).
@testable import Training
import XCTest

final class RunRecordUnitTests: XCTestCase {
    /// A report of one epoch per rank with `seconds[r]` in every phase.
    func report(_ seconds: [Double]) -> TimingReport {
        let perRank = seconds.map { s -> [EpochTiming] in
            var epoch = EpochTiming()
            epoch.totals = [Double](repeating: s, count: Phase.allCases.count)
            epoch.steps = 4
            return [epoch]
        }
        return TimingReport(hosts: seconds.map { _ in "h" }, perRank: perRank, waits: seconds.map { _ in 0 },
                            stragglerSteps: seconds.map { _ in 0 })
    }

    /// The table's row of `phase`: its min, median and max columns.
    func row(_ table: String, _ phase: Phase) throws -> [Double] {
        let line = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix(phase.name + " ") }, table)
        return line.split(separator: " ").dropFirst().prefix(3).map { Double($0)! }
    }

    func testTimingTableMedianOfAnEvenRankCountIsTheMeanOfTheMiddleTwo() throws {
        // 2 ranks at 1 s and 3 s: the median is 2 s, not the upper value 3 s.
        XCTAssertEqual(try row(report([1, 3]).table, .forward), [1, 2, 3])
        XCTAssertEqual(try row(report([4, 1, 3, 2]).table, .data), [1, 2.5, 4])
        XCTAssertEqual(try row(report([5, 1, 3]).table, .allreduce), [1, 3, 5])
        XCTAssertEqual(try row(report([0.25]).table, .evaluation), [0.25, 0.25, 0.25])
    }

    func testTimingCSVMeansEvaluationsPerEvaluationNotTheirTotal() throws {
        // 3 steps of 1 s forward; 2 evaluations of 0.5 s and 1.5 s and one checkpoint of 0.25 s between them.
        var timer = PhaseTimer()
        for _ in 0..<3 {
            timer.record(.forward, from: 10, to: 11)
            timer.endStep()
        }
        timer.recordOutsideStep(.evaluation, from: 20, to: 20.5)
        timer.recordOutsideStep(.checkpoint, from: 21, to: 21.25)
        timer.recordOutsideStep(.evaluation, from: 22, to: 23.5)
        timer.endEpoch()
        // Through the flat form every rank gathers, as TimingReport.gather rebuilds it.
        let epoch = EpochTiming(flattened: ArraySlice(timer.epochs[0].flattened))
        XCTAssertEqual(epoch.steps, 3)
        let csv = TimingReport(hosts: ["h"], perRank: [[epoch]], waits: [0], stragglerSteps: [0]).csv
        let all = csv.joined(separator: "\n")
        // total, mean, max: a mean is never above the max.
        XCTAssertTrue(csv.contains("0,h,1,forward,3.000000,1.000000,1.000000"), all)
        XCTAssertTrue(csv.contains("0,h,1,evaluation,2.000000,1.000000,1.500000"), all)
        XCTAssertTrue(csv.contains("0,h,1,checkpoint,0.250000,0.250000,0.250000"), all)
        XCTAssertTrue(csv.contains("0,h,1,data,0.000000,0.000000,0.000000"), all)
    }

    func testTensorBoardScalarsLeaveOutValuesThatAreNotNumbers() {
        // A step skipped under --on-nan skip has no loss: steps.csv leaves the field empty, and the
        // event holds the other tags only, byte for byte as if the loss had not been given.
        let clean = TensorBoardEvent.scalars([("step/lr", 0.1)], step: 4, wallTime: 2)
        XCTAssertEqual(TensorBoardEvent.scalars([("step/loss", .nan), ("step/lr", 0.1)], step: 4, wallTime: 2), clean)
        XCTAssertEqual(TensorBoardEvent.scalars([("step/lr", 0.1), ("eval/gap", .infinity), ("eval/x", -.infinity)], step: 4, wallTime: 2), clean)
        // A finite value is kept: the event is longer by its tag and float.
        XCTAssertGreaterThan(TensorBoardEvent.scalars([("step/loss", 2.5), ("step/lr", 0.1)], step: 4, wallTime: 2).count, clean.count)
    }

    func evaluation(test: Double) -> Evaluation {
        Evaluation(trainLoss: 1, trainAcc: test + 0.1, testLoss: 1.5, testAcc: test)
    }

    func testStepsToTargetIsTheFirstEvaluationAtOrAboveTheTarget() {
        var settings = TrainConfig()
        settings.target = 0.9
        var progress = RunProgress(settings: settings)
        XCTAssertNil(progress.bestTestAcc, "nothing evaluated yet: null, not 0")
        for (step, accuracy) in [(4, 0.5), (8, 0.89999), (12, 0.9), (16, 0.95), (20, 0.7)] {
            progress.record(evaluation(test: accuracy), step: step)
        }
        XCTAssertEqual(progress.stepsToTarget, 12, "0.9 itself reaches a target of 0.9")
        XCTAssertEqual(progress.bestTestAcc, 0.95)
        XCTAssertEqual(progress.last.testAcc, 0.7, "the last evaluation, not the best")

        settings.target = 0.96
        var missed = RunProgress(settings: settings)
        for (step, accuracy) in [(4, 0.5), (8, 0.95)] { missed.record(evaluation(test: accuracy), step: step) }
        XCTAssertNil(missed.stepsToTarget)
    }
}
