// The optimizers' names in help texts come from OptimizerKind: every case appears in
// `--optimizer` and in `--lr`'s defaults, every rule optimizer in the sweep's rules.
import XCTest

final class OptimizerListTests: XCTestCase {
    /// The same list the enum has (written out here on purpose: a new case must show in help).
    let optimizers = ["sgd", "adam", "adamw", "lars", "lamb"]

    func testHelpNamesEveryOptimizer() throws {
        let train = try DDPProcess.run(["train", "--help"])
        XCTAssertEqual(train.status, 0, train.all)
        let help = train.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for name in optimizers {
            XCTAssertTrue(help.contains("\(name) ("), "--optimizer names \(name): \(help)")
            XCTAssertTrue(help.range(of: #"\b\#(name) [0-9.]+[,;]"#, options: .regularExpression) != nil, "--lr names \(name)'s default rate")
        }
        let sweep = try DDPProcess.run(["sweep", "--help"])
        let sweepHelp = sweep.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for name in ["lars", "lamb"] {
            XCTAssertTrue(sweepHelp.contains("a \(name)+ prefix") && sweepHelp.contains("--\(name)-lr"), sweepHelp)
        }
    }
}
