// Sweep rules name optimizers through OptimizerKind alone: every optimizer with a bare rule parses
// as a prefix and as a bare name, round-trips through its description, and a sweep.json written
// before `optimizer` (a Bool per optimizer) still reads.
import Foundation
import Optim
@testable import Training
import XCTest

final class ScalingRuleTests: XCTestCase {
    func testEveryRuleOptimizerParsesAsPrefixAndBareName() throws {
        XCTAssertEqual(OptimizerKind.ruleOptimizers, [.lars, .lamb])
        for kind in OptimizerKind.allCases {
            if let bare = kind.bareRule {
                let rule = try ScalingRule(kind.rawValue)
                XCTAssertEqual(rule.optimizer, kind)
                XCTAssertEqual(rule.scaling, bare.scaling)
                XCTAssertEqual(rule.warmup, bare.warmup)
                let prefixed = try ScalingRule("\(kind.rawValue)+sqrt+gb16")
                XCTAssertEqual(prefixed.optimizer, kind)
                XCTAssertEqual(try ScalingRule(prefixed.description), prefixed)
                XCTAssertTrue(ScalingRule.grammar.contains("\(kind.rawValue)+"), ScalingRule.grammar)
            } else {
                XCTAssertThrowsError(try ScalingRule("\(kind.rawValue)+sqrt"), "\(kind) is no rule prefix")
            }
        }
    }

    func testAPointOfARuleOptimizerTrainsWithItAndItsRate() throws {
        var base = TrainConfig()
        base.learningRate = 0.02
        let plan = SweepPlan(base: base, globalBatches: [64], rules: try ["none", "lars", "lamb+linear"].map { try ScalingRule($0) },
                             seeds: [1], budget: .steps(1), warmupEpochs: 1, larsLearningRate: 0.3, lambLearningRate: 0.004, directory: nil)
        let points = plan.points(in: "")
        XCTAssertEqual(points.map(\.settings.optimizer), [.sgd, .lars, .lamb])
        XCTAssertEqual(points.map(\.settings.learningRate), [0.02, 0.3, 0.004])
        XCTAssertEqual(points.map(\.settings.ruleName), ["none", "lars+linear+warmup", "lamb+linear"])
    }

    func testASweepJSONWithABoolPerOptimizerStillReads() throws {
        let old = #"[{"scaling":"linear","warmup":true,"lars":true},{"scaling":"sqrt","warmup":false,"lars":false,"lamb":true},"#
            + #"{"scaling":"none","warmup":false,"lars":false}]"#
        let rules = try JSONDecoder().decode([ScalingRule].self, from: Data(old.utf8))
        XCTAssertEqual(rules.map(\.optimizer), [.lars, .lamb, nil])
        XCTAssertEqual(rules.map(\.description), ["lars+linear+warmup", "lamb+sqrt", "none"])
        let again = try JSONDecoder().decode([ScalingRule].self, from: JSONEncoder().encode(rules))
        XCTAssertEqual(again, rules)
    }
}
