// The report on files a crash, a disk fault or a hand edit left odd: ranks that are not whole
// numbers, values near Double's limits. The page is still written, and what is plotted is still
// the data's own numbers.
import Foundation
import XCTest
@testable import Report

final class ReportHostileInputTests: XCTestCase {
    func testTimingRowsWithoutAWholeRankOrFiniteSecondsAreLeftOut() {
        // Rank 0's rows are Fixtures' (compute 2 x 0.9375); the damaged rows trapped Int(Double) before.
        let damaged = Fixtures.timingCSV + "nan,hostX,1,data,5,1,1\n1.5,hostX,1,data,5,1,1\n1e300,hostX,1,data,5,1,1\n"
            + "inf,hostX,1,data,5,1,1\n0,hostA,3,forward,nan,1,1\n"
        let imbalance = Fixtures.imbalanceCSV + "nan,hostX,7,0\n0,hostA,inf,0\n"
        let timings = RankTiming.perRank(CSVTable(parsing: damaged), imbalance: CSVTable(parsing: imbalance))
        XCTAssertEqual(timings.map(\.rank), [0, 1])
        XCTAssertEqual(timings[0].compute, 2 * (0.125 + 0.25 + 0.5 + 0.0625), "the nan seconds row adds nothing")
        XCTAssertEqual(timings[0].wait, 0.375, "the inf wait row is left out, the finite one kept")
        let ranks = CSVTable(parsing: "rank\n3\n-2\n2.5\n9.3e18\n")
        XCTAssertEqual(ranks.rows.indices.map { ranks.integer($0, "rank") }, [3, -2, nil, nil], "9.3e18 is beyond Int")
    }

    func testARunFolderWithADamagedTimingFileStillGetsItsPage() throws {
        let dir = Fixtures.temporaryFolder("damaged-timing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Fixtures.writeRun(dir, rule: "linear", batch: 64, seed: 1, peakLr: 0.01, steps: 8, testAcc: 0.8, trainAcc: 0.85, gns: 100)
        Fixtures.write(Fixtures.timingCSV + "nan,h,1,data,1,1,1\n", to: dir + "/timing.csv")
        let html = try Report.html(for: dir)
        let chart = try SVGReader.chart("run-timing", in: SVGReader.charts(in: html))
        let compute = chart.all("rect", "data-segment", equal: "compute").compactMap { $0.number("data-value") }
        XCTAssertEqual(compute, [2 * 0.9375, 2 * 1.4375])
    }

    func testAxesOverValuesNearDoublesLimitStayFiniteWithFewTicks() {
        // [-1e308, 1e308] spans more than Double holds: the axis was infinite and its tick loop never ended.
        let wide = Scale.linear(covering: [-1e308, 1e308, 3])
        XCTAssertTrue(wide.lo.isFinite && wide.hi.isFinite, "\(wide.lo) \(wide.hi)")
        guard wide.lo.isFinite, wide.hi.isFinite, let step = wide.step, step.isFinite else { return }
        XCTAssertLessThanOrEqual((wide.hi - wide.lo) / step, 12)
        XCTAssertTrue(wide.contains(3))
        // Two values one ulp apart at 1e5: a tick step below the ulp never advanced (k + 1 == k).
        let close = Scale.linear(covering: [100000, 100000.00000000001])
        guard let closeStep = close.step else { return XCTFail("a linear scale has a step") }
        XCTAssertGreaterThan(closeStep, close.hi.ulp * 4, "a step the values' spacing can hold")
        guard closeStep > close.hi.ulp * 4 else { return }
        XCTAssertTrue((2...12).contains(close.ticks.count), "\(close.ticks.count)")
        XCTAssertTrue(close.contains(100000))
        // A log2 axis over 1.7e308: half a doubling beyond it overflowed and trapped converting log2(inf).
        let log = Scale.log2(covering: [64, 1.7e308])
        XCTAssertTrue(log.hi.isFinite && log.lo == 64 / 2.0.squareRoot(), "\(log.lo) \(log.hi)")
        guard log.hi.isFinite else { return }
        XCTAssertTrue(log.contains(64))
        XCTAssertEqual(log.ticks.filter { $0.label != nil }.count, 9, "at most 9 labels over about 1017 doublings")
        XCTAssertEqual(log.ticks.first?.label, "64")
        XCTAssertEqual(Scale.powerOfTwoLabel(70), "2^70", "not 2^62 written out")
        XCTAssertEqual(Scale.powerOfTwoLabel(62), "4611686018427387904")
    }

    func testASweepWithAnOverflowingValueStillPlotsTheOthersExactly() throws {
        let dir = Fixtures.sweep()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // gns 1.7e308 for the first row (linear, 64, seed 1; fixture gns 150): the log2 y axis trapped.
        let path = dir + "/results.csv"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        var cells = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let gnsColumn = lines[0].split(separator: ",").firstIndex(of: "gns")!
        XCTAssertEqual(cells[gnsColumn], "150.0")
        cells[gnsColumn] = "1.7e308"
        lines[1] = cells.joined(separator: ",")
        Fixtures.write(lines.joined(separator: "\n") + "\n", to: path)
        let chart = try SVGReader.chart("gns-vs-batch", in: SVGReader.charts(in: try Report.html(for: dir)))
        let means = chart.all("circle", "data-role", equal: "mean")
        // linear at 128: (180 + 200) / 2; sqrt+warmup at 64: (140 + 160) / 2 (seed 2 at 128 diverged).
        let linear128 = means.first { $0.attributes["data-series"] == "linear" && $0.number("data-x") == 128 }
        let sqrt64 = means.first { $0.attributes["data-series"] == "sqrt+warmup" && $0.number("data-x") == 64 }
        XCTAssertEqual(linear128?.number("data-y"), 190)
        XCTAssertEqual(sqrt64?.number("data-y"), 150)
        XCTAssertEqual(sqrt64?.number("cy") ?? .nan, chart.pixelY(150), accuracy: 0.01)
    }

    func testAResumedRunsTimingIsCalledTheLastLaunchsNotTheRuns() throws {
        // timing.csv is written at the run's end from that launch's clocks: after a resume it holds
        // the last launch's seconds, which the page called "over the run".
        let dir = Fixtures.temporaryFolder("resumed-timing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Fixtures.writeRun(dir, rule: "linear", batch: 64, seed: 1, peakLr: 0.01, steps: 8, testAcc: 0.8, trainAcc: 0.85, gns: 100)
        let once = try Report.html(for: dir)
        XCTAssertFalse(once.contains("launches only"), "one launch: nothing to say")
        XCTAssertFalse(once.contains("time over the run"))
        let summary = try String(contentsOfFile: dir + "/summary.json", encoding: .utf8)
        Fixtures.write(summary.replacingOccurrences(of: "\"accumulate\" : 1,", with: "\"accumulate\" : 1, \"launches\" : 3,"), to: dir + "/summary.json")
        XCTAssertEqual(RunData.load(dir).launches, 3)
        let resumed = try Report.html(for: dir)
        XCTAssertTrue(resumed.contains("This run's timing.csv holds the last of its 3 launches only (it was resumed), not the whole run."))

        // In a sweep, the run shown for its batch says the same in the timing section's lead.
        let sweep = Fixtures.sweep()
        defer { try? FileManager.default.removeItem(atPath: sweep) }
        let run = sweep + "/linear-b64-s1/summary.json"
        Fixtures.write(try String(contentsOfFile: run, encoding: .utf8)
            .replacingOccurrences(of: "\"accumulate\" : 1,", with: "\"accumulate\" : 1, \"launches\" : 2,"), to: run)
        let page = try Report.html(for: sweep)
        XCTAssertTrue(page.contains("64: linear-b64-s1 (its timing.csv holds the last of its 2 launches only (it was resumed), not the whole run)"))
        XCTAssertFalse(page.contains("128: linear-b128-s1 (its"))
    }

    func testWholeNumbersInTheRunTableAreShownInFull() throws {
        // A seed is a name: %.6g showed seed 123456789012 as 1.23457e+11. Fractions keep six digits.
        let dir = Fixtures.temporaryFolder("long-seed")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Fixtures.write("run,global_batch,rule,seed,test_acc\nr1,64,none,123456789012,0.123456789\nr2,128,none,-98765432109,0.5\n",
                       to: dir + "/results.csv")
        let html = try Report.html(for: dir)
        for cell in ["<td class=\"num\">123456789012</td>", "<td class=\"num\">-98765432109</td>",
                     "<td class=\"num\" title=\"0.123456789\">0.123457</td>"] {
            XCTAssertTrue(html.contains(cell), cell)
        }
    }
}
