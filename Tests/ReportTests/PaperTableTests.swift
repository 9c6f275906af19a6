// The "paper" table from a fixture sweep of keskar-f1: the published figures (papers.csv) beside
// ours, mean and standard deviation over seeds, LB − SB for both, and remedy rows that ran only at
// the large batch measured against the baseline's small batch; the figures only for a sweep that
// runs the paper's comparison (model, optimizer, batch pair).
import Foundation
import XCTest
@testable import Report

final class PaperTableTests: XCTestCase {
    /// none at 256 and `large` (3 seeds each), sqrt+gb128 at `large` only (2 seeds), one diverged LB
    /// run. The optimizer is in results.csv's column (`column`) or only in sweep.json's base.
    func fixture(model: String = "keskar-f1", optimizer: String = "adam", large: Int = 6000, column: Bool = false) -> String {
        let dir = Fixtures.temporaryFolder("paper")
        let header = "run,global_batch,rule,seed,test_acc,train_acc,diverged,sharpness,sharpness_random" + (column ? ",optimizer" : "")
        let rows = [
            "a,256,none,1,0.90,0.95,no,1.0,0.1", "b,256,none,2,0.91,0.96,no,2.0,0.2", "c,256,none,3,0.89,0.94,no,3.0,0.3",
            "d,\(large),none,1,0.88,0.97,no,10.0,1.0", "e,\(large),none,2,0.87,0.98,no,20.0,2.0", "f,\(large),none,3,0.86,0.99,no,30.0,3.0",
            "g,\(large),sqrt+gb128,1,0.905,0.96,no,4.0,0.5", "h,\(large),sqrt+gb128,2,0.895,0.95,no,6.0,0.7",
            "i,\(large),sqrt+gb128,3,0.1,0.1,yes,,",
        ].map { column ? $0 + "," + optimizer : $0 }
        Fixtures.write(([header] + rows).joined(separator: "\n") + "\n", to: dir + "/results.csv")
        let base = "\"model\": \"\(model)\", " + (column ? "" : "\"optimizer\": \"\(optimizer)\", ")
        Fixtures.write("{\"base\": {\(base)\"data\": \"/usr/share/datasets/fashion-mnist\"}, \"global_batches\": [256, \(large)]}\n",
                       to: dir + "/sweep.json")
        return dir
    }

    func testPaperFiguresSitBesideOursWithSpreadAndDifferences() throws {
        let sweep = try SweepData.load(fixture())
        let rows = PaperTable.rows(sweep)
        XCTAssertEqual(rows.map(\.rule), ["none", "sqrt+gb128", "none", "sqrt+gb128", "none", "sqrt+gb128", "none", "sqrt+gb128"])

        // Test accuracy, baseline: ours SB 90 ± 1 (n 3), LB 87 ± 1, LB − SB = −3; Keskar's F1: 98.03 and 97.81, −0.22.
        let test = rows[2]
        XCTAssertEqual(test.metric, "test accuracy (%)")
        XCTAssertEqual(test.small?.mean ?? 0, 90, accuracy: 1e-9)
        XCTAssertEqual(test.small?.deviation ?? 0, 1, accuracy: 1e-9)
        XCTAssertEqual(test.large?.mean ?? 0, 87, accuracy: 1e-9)
        XCTAssertEqual(test.difference ?? 0, -3, accuracy: 1e-9)
        XCTAssertEqual(test.paper?.small, 98.03)
        XCTAssertEqual(test.paper?.large, 97.81)
        XCTAssertTrue(test.paper?.source.hasPrefix("Table 2") ?? false)

        // The remedy ran only at LB: its SB is the baseline's; the diverged seed is left out (n 2); no paper figure.
        let remedy = rows[3]
        XCTAssertEqual(remedy.small, test.small)
        XCTAssertEqual(remedy.large?.count, 2)
        XCTAssertEqual(remedy.large?.mean ?? 0, 90, accuracy: 1e-9)
        XCTAssertEqual(remedy.difference ?? 1, 0, accuracy: 1e-9)
        XCTAssertNil(remedy.paper)

        // Sharpness (A = I): ours 2 ± 1 vs 20 ± 10, +18; the paper's 1.23 vs 205.14, Table 3. Random A: no stored figure.
        XCTAssertEqual(rows[4].difference ?? 0, 18, accuracy: 1e-9)
        XCTAssertEqual(rows[4].large?.deviation ?? 0, 10, accuracy: 1e-9)
        XCTAssertEqual(rows[4].paper?.large, 205.14)
        XCTAssertNil(rows[6].paper)
        XCTAssertEqual(rows[6].large?.mean ?? 0, 2, accuracy: 1e-9)

        let html = try Report.html(for: sweep.path)
        XCTAssertTrue(html.contains("id=\"paper\""), "the section is on the page")
        for text in ["98.03", "97.81", "-0.22", "205.1", "203.9", "90 ± 1 (n 3)", "87 ± 1 (n 3)", "Keskar et al. 2017, Table 3"] {
            XCTAssertTrue(html.contains(text), text)
        }
    }

    /// Hoffer et al.'s recipe on the same network (SGD, 256 vs 1024) is not Keskar's comparison (Adam,
    /// 256 vs 10% of the training set = 6000): ours only, and the lead says whose figures exist and why
    /// they are not shown. Each of optimizer and batch pair alone keeps them off.
    func testTheSameModelUnderAnotherComparisonGetsNoPaperFigures() throws {
        let hoffer = try SweepData.load(fixture(optimizer: "sgd", large: 1024, column: true))
        let rows = PaperTable.rows(hoffer)
        XCTAssertEqual(rows.count, 8, "ours are all there")
        XCTAssertEqual(rows[2].small?.mean ?? 0, 90, accuracy: 1e-9)
        XCTAssertTrue(rows.allSatisfy { $0.paper == nil })
        let html = try Report.html(for: hoffer.path)
        for text in ["98.03", "99.66", "1.23", "205.1", "Keskar et al. 2017, Table"] {
            XCTAssertFalse(html.contains(text), text)
        }
        XCTAssertTrue(html.contains("Keskar et al. 2017 (adam, SB 256 vs LB 6000); this sweep runs sgd, SB 256 vs LB 1024, a different comparison"),
                      "said plainly")

        for other in [fixture(optimizer: "sgd"), fixture(large: 1024), fixture(optimizer: "sgd", column: true)] {
            XCTAssertTrue(try PaperTable.rows(SweepData.load(other)).allSatisfy { $0.paper == nil }, other)
        }
        // Keskar's comparison with the optimizer in results.csv's column gets the figures too.
        XCTAssertEqual(try PaperTable.rows(SweepData.load(fixture(column: true)))[2].paper?.small, 98.03)
    }

    func testAModelNoPaperTrainedShowsOursAndSaysSo() throws {
        let sweep = try SweepData.load(fixture(model: "mlp"))
        XCTAssertTrue(PaperTable.rows(sweep).allSatisfy { $0.paper == nil })
        let html = try Report.html(for: sweep.path)
        XCTAssertTrue(html.contains("No published figures are stored for model mlp"), "said plainly")
    }

    /// Keskar's comparison where the baseline's LB runs all diverged, and, at SB, its first seed
    /// diverged while a second rule (sqrt) also ran there.
    func divergedFixture() -> String {
        let dir = Fixtures.temporaryFolder("paper-diverged")
        let rows = [
            "a,256,none,1,,,yes,,", "b,256,none,2,0.91,0.96,no,2.0,0.2", "c,256,none,3,0.89,0.94,no,3.0,0.3",
            "s,256,sqrt,1,0.80,0.81,no,5.0,0.5",
            "d,6000,none,1,,,yes,,", "e,6000,none,2,,,yes,,", "f,6000,none,3,,,yes,,",
            "g,6000,sqrt,1,0.85,0.86,no,7.0,0.7",
        ]
        Fixtures.write((["run,global_batch,rule,seed,test_acc,train_acc,diverged,sharpness,sharpness_random"] + rows).joined(separator: "\n") + "\n",
                       to: dir + "/results.csv")
        Fixtures.write("{\"base\": {\"model\": \"keskar-f1\", \"optimizer\": \"adam\"}}\n", to: dir + "/sweep.json")
        return dir
    }

    func testABaselineWhoseLargeBatchRunsAllDivergedKeepsItsRowAndThePapersFigures() throws {
        let sweep = try SweepData.load(divergedFixture())
        defer { try? FileManager.default.removeItem(atPath: sweep.path) }
        let rows = PaperTable.rows(sweep)
        XCTAssertEqual(rows.map(\.rule), ["none", "sqrt", "none", "sqrt", "none", "sqrt", "none", "sqrt"])
        let test = rows[2]
        XCTAssertEqual(test.metric, "test accuracy (%)")
        // SB: seeds 2 and 3 (90 ± 1.414), seed 1 diverged; LB: all three diverged, no mean, said in the cell.
        XCTAssertEqual(test.small?.mean ?? 0, 90, accuracy: 1e-9)
        XCTAssertEqual(test.small?.deviation ?? 0, 2.0.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual([test.divergedSmall, test.divergedLarge], [1, 3])
        XCTAssertNil(test.large)
        XCTAssertEqual(test.paper?.large, 97.81, "the paper's figures stay on the baseline, none")
        XCTAssertNil(rows[3].paper, "never moved to sqrt, the first rule with a run left at SB")
        XCTAssertEqual(rows[3].small?.mean ?? 0, 80, accuracy: 1e-9, "sqrt's own SB")

        let html = try Report.html(for: sweep.path)
        for cell in ["<td>90 ± 1.414 (n 2), 1 diverged</td>", "<td>3 diverged</td>", "<td class=\"num\">97.81</td>"] {
            XCTAssertTrue(html.contains(cell), cell)
        }
    }

    func testThePapersFiguresAreShownWithThePapersDigits() throws {
        let dir = fixture()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let html = try Report.html(for: dir)
        // Table 3's LB 205.14 and its difference 203.91, not 205.1 and 203.9; Table 2's −0.22 and 0.26.
        for cell in ["205.14", "203.91", "1.23", "-0.22", "0.26", "99.92"] {
            XCTAssertTrue(html.contains("<td class=\"num\">\(cell)</td>"), cell)
        }
        let f1 = PaperFigure.all.filter { $0.model == "keskar-f1" }
        XCTAssertEqual(f1.map(\.differenceText), ["0.26", "-0.22", "203.91"])
    }

    func testTheDataFileHoldsTheIssuesFigures() {
        // Keskar et al. 2017 Tables 2 and 3 as the issue quotes them.
        let f1 = PaperFigure.all.filter { $0.model == "keskar-f1" }
        XCTAssertEqual(f1.map(\.metric), ["train_acc", "test_acc", "sharpness"])
        XCTAssertEqual(f1.map(\.small), [99.66, 98.03, 1.23])
        XCTAssertEqual(f1.map(\.large), [99.92, 97.81, 205.14])
        let c1 = PaperFigure.all.filter { $0.model == "keskar-c1" }
        XCTAssertEqual(c1.map(\.small), [99.89, 80.04])
        XCTAssertEqual(c1.map(\.large), [99.66, 77.26])
        // The comparison each belongs to: Adam, SB 256, LB 10% of the training set (60000 and 50000 images).
        XCTAssertTrue((f1 + c1).allSatisfy { $0.optimizer == "adam" && $0.sweepSmallBatch == 256 })
        XCTAssertEqual(f1.map(\.sweepLargeBatch), [6000, 6000, 6000])
        XCTAssertEqual(c1.map(\.sweepLargeBatch), [5000, 5000])
    }
}
