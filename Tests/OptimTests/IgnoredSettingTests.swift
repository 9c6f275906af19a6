// A setting given that no optimizer of the run uses is named, as the CLI names other flags that
// would be ignored; --nesterov without momentum is refused as torch.optim.SGD refuses it.
import Optim
import XCTest

final class IgnoredSettingTests: XCTestCase {
    func testASettingNoOptimizerOfTheRunUsesIsNamed() {
        func settings(_ change: (inout OptimizerKind.Settings) -> Void) -> OptimizerKind.Settings {
            var s = OptimizerKind.Settings()
            change(&s)
            return s
        }
        XCTAssertNil(OptimizerKind.ignoredSetting(settings { _ in }, kinds: [.adam]))
        XCTAssertNil(OptimizerKind.ignoredSetting(settings { $0.momentum = 0.9 }, kinds: [.adam]), "a default given again passes")
        XCTAssertEqual(OptimizerKind.ignoredSetting(settings { $0.momentum = 0.5 }, kinds: [.adam]),
                       "--momentum 0.5 applies to sgd and lars only, not to adam")
        XCTAssertNil(OptimizerKind.ignoredSetting(settings { $0.momentum = 0.5 }, kinds: [.adam, .lars]), "a sweep whose lars rule uses it")
        XCTAssertEqual(OptimizerKind.ignoredSetting(settings { $0.nesterov = true }, kinds: [.lars]), "--nesterov applies to sgd only, not to lars")
        XCTAssertEqual(OptimizerKind.ignoredSetting(settings { $0.beta2 = 0.98 }, kinds: [.sgd, .lars]),
                       "--beta2 0.98 applies to adam, adamw and lamb only, not to sgd, lars")
        XCTAssertEqual(OptimizerKind.ignoredSetting(settings { $0.trustCoefficient = 0.02 }, kinds: [.lamb]),
                       "--trust-coefficient 0.02 applies to lars only, not to lamb")
        XCTAssertEqual(OptimizerKind.ignoredSetting(settings { $0.nesterov = true; $0.momentum = 0 }, kinds: [.sgd]),
                       "--nesterov needs --momentum above 0 (with 0 it is plain SGD; torch.optim.SGD refuses it too)")
    }

    func testNesterovWithoutMomentumIsPlainSGD() {
        // What the refusal prevents: the same step with and without the flag.
        var (p, q): ([Float], [Float]) = ([1, 2], [1, 2])
        SGD(parameterCount: 2, momentum: 0, nesterov: true, weightDecay: 0).step(parameters: &p, gradients: [3, -1], gradientScale: 1, learningRate: 0.1)
        SGD(parameterCount: 2, momentum: 0, nesterov: false, weightDecay: 0).step(parameters: &q, gradients: [3, -1], gradientScale: 1, learningRate: 0.1)
        XCTAssertEqual(p, q)
        XCTAssertEqual(p, [0.7, 2.1])
    }
}
