// The page for one run folder: summary, curves, schedule, noise scale, timing, config; and the
// long steps.csv drawn with at most 500 points per line.
import Foundation
import XCTest
@testable import Report

final class RunReportTests: XCTestCase {
    func testRunReportHasItsChartsAndDownsampledSchedule() throws {
        let dir = Fixtures.run()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(try Report.source(of: dir), .run)
        let html = try Report.html(for: dir)
        XCTAssertFalse(html.contains("http://") || html.contains("https://"))
        XCTAssertFalse(html.lowercased().contains("<script"))
        let charts = SVGReader.charts(in: html)
        XCTAssertEqual(charts.map(\.id), ["run-accuracy", "run-loss", "run-lr", "run-gns", "run-timing"])
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 5)

        // 2000 steps -> at most 500 points, and the first and last steps are among them.
        let lr = try SVGReader.chart("run-lr", in: charts)
        let points = try XCTUnwrap(lr.all("polyline").first?.attributes["points"]).split(separator: " ")
            .map { $0.split(separator: ",").map { Double($0)! } }
        XCTAssertLessThanOrEqual(points.count, 500)
        XCTAssertEqual(lr.dataX(points.first![0]), 1, accuracy: 0.05)
        XCTAssertEqual(lr.dataX(points.last![0]), 2000, accuracy: 0.05)
        XCTAssertEqual(lr.dataY(points.last![1]), 0.02, accuracy: 1e-5)

        // The summary header and config are on the page.
        XCTAssertTrue(html.contains("<dt>rule</dt><dd>linear+warmup</dd>"))
        XCTAssertTrue(html.contains("<dt>test accuracy</dt><dd>0.85</dd>"))
        XCTAssertTrue(html.contains("<summary>config.json</summary>"))
        let timing = try SVGReader.chart("run-timing", in: charts)
        XCTAssertEqual(timing.all("rect", "data-segment", equal: "wait").compactMap { $0.number("data-value") }, [0.375])
    }

    func testRunWithoutSummaryStillGetsAPage() throws {
        let dir = Fixtures.temporaryFolder("partial")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Fixtures.write("step,epoch,lr,loss,accuracy,samples,gns\n1,1,0.1,2.3,0.1,64,\n2,1,0.1,nan,0.1,64,\n", to: dir + "/steps.csv")
        let html = try Report.html(for: dir)
        XCTAssertTrue(html.contains("No summary.json"))
        XCTAssertTrue(html.contains("No metrics.csv in the run folder."))
        XCTAssertEqual(SVGReader.charts(in: html).map(\.id), ["run-lr"])
        // A summary.json that is there but damaged is named as unreadable, not called missing.
        Fixtures.write("{\"steps\": 2,", to: dir + "/summary.json")
        let damaged = try Report.html(for: dir)
        XCTAssertFalse(damaged.contains("No summary.json"))
        XCTAssertTrue(damaged.contains("Unreadable files: summary.json: " + Format.escape(dir) + "/summary.json is not valid JSON"), damaged)
    }
}
