// The sweep page built from a fixture sweep (2 rules x 2 batches x 2 seeds, one diverged): one
// self-contained file, every chart well-formed SVG, and the plotted numbers equal to the data.
import Foundation
import XCTest
@testable import Report

final class SweepReportTests: XCTestCase {
    var sweepDir = ""
    var html = ""
    var charts: [SVGChart] = []

    override func setUpWithError() throws {
        sweepDir = Fixtures.sweep()
        html = try Report.html(for: sweepDir)
        charts = SVGReader.charts(in: html)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: sweepDir)
    }

    func testWritesOneSelfContainedFile() throws {
        XCTAssertEqual(try Report.source(of: sweepDir), .sweep)
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: sweepDir))
        let path = try Report.write(directory: sweepDir)
        XCTAssertEqual(path, sweepDir + "/report.html")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: sweepDir)).subtracting(before), ["report.html"])
        let written = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(written, html)
        XCTAssertFalse(written.contains("http://") || written.contains("https://"), "no network references")
        XCTAssertFalse(written.lowercased().contains("<script"), "no scripts")
        XCTAssertFalse(written.contains("<link") || written.contains("<img"), "nothing loaded from another file")
        XCTAssertTrue(written.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(written.contains("<style>"))
    }

    func testHasEveryChartAndEachIsWellFormedXML() {
        // acc, gap; curves x2 batches; steps to target; lr x2; timing; gns x2 + final gns; sharpness.
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 12)
        XCTAssertEqual(charts.count, 12, "each <svg> parsed as XML")
        XCTAssertEqual(charts.map(\.id), [
            "test-acc-vs-batch", "gap-vs-batch", "curves-b64", "curves-b128", "steps-to-target-vs-batch",
            "lr-b64", "lr-b128", "timing", "gns-b64", "gns-b128", "gns-vs-batch", "sharpness-vs-batch",
        ])
        for chart in charts {
            XCTAssertEqual(chart.all("text", "class", equal: "title").count, 1, chart.id)
            XCTAssertEqual(chart.all("text", "class", equal: "label").count, 2, "\(chart.id): x and y axis labels")
        }
        XCTAssertEqual(html.components(separatedBy: "<figcaption>").count - 1, 12, "every chart has a caption")
    }

    func testAccuracyVsBatchPlacesBatchesAtLog2Spacing() throws {
        let chart = try SVGReader.chart("test-acc-vs-batch", in: charts)
        XCTAssertEqual(chart.root.attributes["data-x-scale"], "log2")
        let means = chart.all("circle", "data-role", equal: "mean")
        XCTAssertEqual(means.count, 4, "2 rules x 2 batches")
        for rule in ["linear", "sqrt+warmup"] {
            let mine = means.filter { $0.attributes["data-series"] == rule }
            let x64 = try XCTUnwrap(mine.first { $0.number("data-x") == 64 }?.number("cx"))
            let x128 = try XCTUnwrap(mine.first { $0.number("data-x") == 128 }?.number("cx"))
            XCTAssertGreaterThan(x128, x64, "batch 128 right of batch 64")
            // One doubling = plot width / log2(hi / lo) pixels.
            let plot = chart.root.numbers("data-plot"), domain = chart.root.numbers("data-x-domain")
            XCTAssertEqual(x128 - x64, plot[2] / log2(domain[1] / domain[0]), accuracy: 0.011)
            XCTAssertEqual(x64, chart.pixelX(64), accuracy: 0.006)
        }
        // The x axis is labelled at the batches.
        let ticks = chart.all("text", "class", equal: "tick").compactMap { $0.number("data-tick-x") }
        XCTAssertTrue(ticks.contains(64) && ticks.contains(128), "\(ticks)")
    }

    func testMeanIsOverSeedsAndExcludesTheDivergedRun() throws {
        let chart = try SVGReader.chart("test-acc-vs-batch", in: charts)
        let means = chart.all("circle", "data-role", equal: "mean")
        for rule in ["linear", "sqrt+warmup"] {
            for batch in [64, 128] {
                let seeds = Fixtures.results.filter { $0.rule == rule && $0.batch == batch && !$0.diverged }.map(\.testAcc)
                let expected = seeds.reduce(0, +) / Double(seeds.count)
                let marker = try XCTUnwrap(means.first { $0.attributes["data-series"] == rule && $0.number("data-x") == Double(batch) })
                XCTAssertEqual(marker.number("data-y")!, expected, accuracy: 1e-12, "\(rule) at \(batch)")
                XCTAssertEqual(marker.number("cy")!, chart.pixelY(expected), accuracy: 0.006, "drawn where its value is")
            }
        }
        // sqrt+warmup at 128: seed 1 only (0.79), not (0.79 + 0.1) / 2.
        let lone = means.first { $0.attributes["data-series"] == "sqrt+warmup" && $0.number("data-x") == 128 }
        XCTAssertEqual(lone?.number("data-y"), 0.79)
        // Min-max bars only where seeds differ: three groups, not the lone seed.
        let ranges = chart.all("path", "data-role", equal: "range")
        XCTAssertEqual(ranges.count, 3)
        let linear64 = try XCTUnwrap(ranges.first { $0.attributes["data-series"] == "linear" && $0.number("data-x") == 64 })
        XCTAssertEqual(linear64.number("data-lo"), 0.80)
        XCTAssertEqual(linear64.number("data-hi"), 0.82)
        // The diverged run is drawn apart, at the bottom edge, and listed in the table.
        let crosses = chart.all("path", "data-role", equal: "excluded")
        XCTAssertEqual(crosses.map { $0.attributes["data-run"] }, ["sqrt-warmup-b128-s2"])
        XCTAssertTrue(html.contains("<tr class=\"diverged\"><td>sqrt-warmup-b128-s2</td>"), "listed and shaded in the table")
        let runsTable = html.components(separatedBy: "id=\"runs\"")[1].components(separatedBy: "</table>")[0]
        XCTAssertEqual(runsTable.components(separatedBy: "<tr").count - 1, 1 + Fixtures.results.count, "header + every run")
    }

    func testGapIsTrainMinusTestAccuracy() throws {
        let chart = try SVGReader.chart("gap-vs-batch", in: charts)
        let marker = try XCTUnwrap(chart.all("circle", "data-role", equal: "mean")
            .first { $0.attributes["data-series"] == "linear" && $0.number("data-x") == 128 })
        XCTAssertEqual(marker.number("data-y")!, ((0.84 - 0.78) + (0.83 - 0.76)) / 2, accuracy: 1e-12)
    }

    func testStepsToTargetHasThePerfectScalingLine() throws {
        let chart = try SVGReader.chart("steps-to-target-vs-batch", in: charts)
        XCTAssertEqual(chart.root.attributes["data-x-scale"], "log2")
        XCTAssertEqual(chart.root.attributes["data-y-scale"], "log2")
        let line = try XCTUnwrap(chart.all("line", "data-role", equal: "perfect-scaling").first)
        // Through the mean of the runs at the smallest batch: (400 + 420 + 390 + 410) / 4 = 405 at 64,
        // so steps x batch = 405 x 64 all along it (slope -1 on log2-log2).
        for (xKey, yKey) in [("x1", "y1"), ("x2", "y2")] {
            let b = chart.dataX(line.number(xKey)!), s = chart.dataY(line.number(yKey)!)
            XCTAssertEqual(b * s / (405 * 64), 1, accuracy: 2e-4)
        }
        XCTAssertEqual(chart.all("path", "data-role", equal: "excluded").count, 1, "the diverged run never reached the target")
        XCTAssertTrue(html.contains("test accuracy ≥ 0.75"), "the caption names the target")
    }

    func testTimingChartShowsExactWaitAndMarksTheSlowestRank() throws {
        let chart = try SVGReader.chart("timing", in: charts)
        let waits = chart.all("rect", "data-segment", equal: "wait")
        XCTAssertEqual(waits.count, 2, "one wait bar per batch (rank 1 waits 0 and has none)")
        XCTAssertEqual(waits.map { $0.number("data-value") }, [0.375, 0.375], "imbalance.csv's waits")
        XCTAssertEqual(Set(chart.all("path", "data-role", equal: "slowest").map { $0.attributes["data-rank"] }), ["1"])
    }

    func testCommunicationShareIsTheTransferOverTheStepMeanOverRanks() throws {
        // The fixture's timing: rank 0 computes 1.875 s, allreduce 0.75 s of which it waited 0.375:
        // 0.375 / 2.625; rank 1 computes 2.875 s, allreduce 0.25, no wait: 0.25 / 3.125 = 0.08.
        let sweep = try SweepData.load(sweepDir)
        let run = try XCTUnwrap(sweep.runs.first { !$0.diverged && $0.globalBatch == 128 })
        let share = try XCTUnwrap(CommunicationShare(run: run.run, data: try XCTUnwrap(sweep.folders[run.run])))
        XCTAssertEqual(share.share, (0.375 / 2.625 + 0.08) / 2, accuracy: 1e-15)
        XCTAssertEqual(share.ranks, 2)
        XCTAssertEqual(share.hosts, ["hostA", "hostB"])
        XCTAssertEqual(share.samplesPerRank, 64)
        // A hand-edited summary.json with a batch that is no count leaves the run out, never traps.
        let runDir = sweepDir + "/" + run.run
        let original = try String(contentsOfFile: runDir + "/summary.json", encoding: .utf8)
        for bad in ["1e300", "2.5", "-4", "\"64\""] {
            let text = original.replacingOccurrences(of: "\"batch_per_rank\" : 64", with: "\"batch_per_rank\" : \(bad)")
            XCTAssertTrue(text.contains("\"batch_per_rank\" : \(bad)"), "the edit took")
            try text.write(toFile: runDir + "/edited.json", atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: runDir + "/summary.json")
            try FileManager.default.moveItem(atPath: runDir + "/edited.json", toPath: runDir + "/summary.json")
            XCTAssertNil(CommunicationShare(run: run.run, data: RunData.load(runDir)), bad)
        }
        XCTAssertTrue(html.contains("Where communication stops mattering, measured: 2 ranks on hostA, hostB: above 10% of the step "
                                    + "at every batch run (32, 64 samples per rank a step)."), "the sentence under the timing chart")
    }

    func testCommunicationStopsMatteringFromTheSmallestBatchWhoseLargerOnesAllHold() {
        func share(_ ranks: Int, _ hosts: [String], _ samples: Int, _ value: Double) -> CommunicationShare {
            CommunicationShare(run: "r", ranks: ranks, hosts: hosts, samplesPerRank: samples, share: value)
        }
        // Two ranks on a, b: 0.30 at 32, 0.10 at 128 (exactly the bound), 0.02 at 512 -> from 128.
        // Four ranks on a-d: 0.05 at 32 but 0.20 at 128, 0.08 at 512 -> only from 512.
        // Eight ranks: 0.5 at 512 -> none. One rank: no communication, no sentence.
        let hosts2 = ["a", "b"], hosts4 = ["a", "b", "c", "d"]
        XCTAssertEqual(CommunicationShare.stopsMattering([
            share(2, hosts2, 128, 0.10), share(4, hosts4, 32, 0.05), share(2, hosts2, 32, 0.30), share(4, hosts4, 512, 0.08),
            share(2, hosts2, 512, 0.02), share(4, hosts4, 128, 0.20), share(8, [], 512, 0.5), share(1, ["a"], 64, 0),
        ]), [
            "2 ranks on a, b: at most 10% of the step from 128 samples per rank a step on",
            "4 ranks on a, b, c, d: at most 10% of the step from 512 samples per rank a step on",
            "8 ranks on unnamed hosts: above 10% of the step at every batch run (512 samples per rank a step)",
        ])
    }

    func testScheduleLinesStartAtTheBaseRateAndReachThePeak() throws {
        let chart = try SVGReader.chart("lr-b128", in: charts)
        let lines = chart.all("polyline")
        XCTAssertEqual(lines.map { $0.attributes["data-series"] }, ["linear-b128-s1", "sqrt-warmup-b128-s1"], "one seed per rule, not the diverged one")
        let warmup = lines[1].attributes["points"]!.split(separator: " ").map { $0.split(separator: ",").map { Double($0)! } }
        XCTAssertEqual(chart.dataX(warmup.first![0]), 1, accuracy: 0.01, "step 1")
        XCTAssertEqual(chart.dataY(warmup.first![1]), 0.01 + (0.01 * 2.0.squareRoot() - 0.01) / 25, accuracy: 1e-5)
        XCTAssertEqual(chart.dataX(warmup.last![0]), 100, accuracy: 0.01, "the last of 100 steps")
        XCTAssertEqual(chart.dataY(warmup.last![1]), 0.01 * 2.0.squareRoot(), accuracy: 1e-5)
        let curves = try SVGReader.chart("curves-b64", in: charts)
        let test = try XCTUnwrap(curves.all("polyline").first { !($0.attributes["stroke-dasharray"] != nil) }?.attributes["points"])
        let last = try XCTUnwrap(test.split(separator: " ").last?.split(separator: ",").map { Double($0)! })
        XCTAssertEqual(curves.dataX(last[0]), 2, accuracy: 0.01, "the last evaluation at epoch 2")
    }

    func testNeitherFolderAndExistingOutputAreRefused() throws {
        let empty = Fixtures.temporaryFolder("empty")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertThrowsError(try Report.source(of: empty)) { error in
            XCTAssertTrue("\(error)".contains("is neither a sweep folder"), "\(error)")
        }
        XCTAssertThrowsError(try Report.source(of: empty + "/nope")) { XCTAssertTrue("\($0)".contains("does not exist")) }
        let output = sweepDir + "/out.html"
        try Report.write(directory: sweepDir, output: output)
        XCTAssertThrowsError(try Report.write(directory: sweepDir, output: output)) { XCTAssertTrue("\($0)".contains("--force")) }
        XCTAssertNoThrow(try Report.write(directory: sweepDir, output: output, overwrite: true))
    }
}
