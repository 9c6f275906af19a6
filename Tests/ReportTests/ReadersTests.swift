// The readers and small computations the figures stand on: CSV with empty cells, JSON with
// nulls, downsampling that keeps both ends, and the per-rank wait.
import Foundation
import XCTest
@testable import Report

final class ReadersTests: XCTestCase {
    func testCSVReaderHandlesEmptyCells() {
        let table = CSVTable(parsing: "a,b,c\r\n1,,3\r\n,2,\n\n4,5\n7,8,\n")
        XCTAssertEqual(table.header, ["a", "b", "c"])
        XCTAssertEqual(table.count, 4, "the blank line is skipped")
        XCTAssertEqual(table.cell(0, "a"), "1")
        XCTAssertNil(table.cell(0, "b"), "empty in the middle")
        XCTAssertEqual(table.number(0, "c"), 3, "\\r is not part of the last cell")
        XCTAssertNil(table.cell(1, "a"), "empty at the start")
        XCTAssertNil(table.cell(1, "c"), "empty at the end")
        XCTAssertNil(table.cell(2, "c"), "short row")
        XCTAssertNil(table.cell(3, "c"), "trailing comma")
        XCTAssertNil(table.cell(0, "missing"), "absent column")
        XCTAssertEqual(table.numbers("b"), [nil, 2, 5, 8])
    }

    func testCSVReaderReadsNaNAndLastLineWithoutNewline() {
        let table = CSVTable(parsing: "step,loss,gns\n1,nan,\n2,0.5,12.25")
        XCTAssertTrue(table.number(0, "loss")!.isNaN)
        XCTAssertNil(table.number(0, "gns"))
        XCTAssertEqual(table.number(1, "gns"), 12.25)
    }

    func testJSONReaderKeepsBoolsNumbersAndNulls() throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"diverged": false, "ranks": 2, "gns": null, "peak_lr": 0.025, "rule": "sqrt", "hosts": ["a", "b"]}"#.utf8))
        XCTAssertEqual(json["diverged"], .bool(false))
        XCTAssertEqual(json["ranks"]?.number, 2)
        XCTAssertEqual(json["gns"], .null)
        XCTAssertEqual(json["peak_lr"]?.number, 0.025)
        XCTAssertEqual(json["rule"]?.string, "sqrt")
        XCTAssertEqual(json["hosts"]?.display, "a, b")
        XCTAssertNil(json["absent"])
    }

    func testDownsampleKeepsFirstAndLastAndAtMostN() {
        for (count, limit) in [(60000, 500), (1001, 500), (501, 500), (7, 3)] {
            let kept = Downsample.indices(count: count, maxPoints: limit)
            XCTAssertLessThanOrEqual(kept.count, limit)
            XCTAssertEqual(kept.first, 0)
            XCTAssertEqual(kept.last, count - 1)
            XCTAssertEqual(kept, kept.sorted())
            XCTAssertEqual(Set(kept).count, kept.count, "no index twice")
        }
        XCTAssertEqual(Downsample.indices(count: 60000, maxPoints: 500).count, 500)
        XCTAssertEqual(Downsample.indices(count: 5, maxPoints: 500), [0, 1, 2, 3, 4], "short series untouched")
        XCTAssertEqual(Downsample.keepingEnds(Array(10..<17), maxPoints: 3), [10, 13, 16])
    }

    func testWaitComesFromImbalanceCSVAndTotalsFromTimingCSV() {
        let timings = RankTiming.perRank(CSVTable(parsing: Fixtures.timingCSV), imbalance: CSVTable(parsing: Fixtures.imbalanceCSV))
        XCTAssertEqual(timings.map(\.rank), [0, 1])
        XCTAssertEqual(timings.map(\.host), ["hostA", "hostB"])
        // rank 0: allreduce 0.5 + 0.25; rank 1: 0.125 + 0.125; the waits are imbalance.csv's step sums
        // (0.375), not the difference of totals (0.5): one definition, the trainer's.
        XCTAssertEqual(timings[0].allreduce, 0.75)
        XCTAssertEqual(timings[1].allreduce, 0.25)
        XCTAssertEqual(timings[0].wait, 0.375)
        XCTAssertEqual(timings[1].wait, 0)
        XCTAssertEqual(timings[0].transfer, 0.375)
        XCTAssertNil(RankTiming.perRank(CSVTable(parsing: Fixtures.timingCSV))[0].wait, "no imbalance.csv, no wait")
        // compute = data + forward + backward + optimizer over both epochs; evaluation apart.
        XCTAssertEqual(timings[0].compute, 2 * (0.125 + 0.25 + 0.5 + 0.0625))
        XCTAssertEqual(timings[1].compute, 2 * (0.125 + 0.5 + 0.75 + 0.0625))
        XCTAssertEqual(timings[1].evaluation, 2)
        XCTAssertEqual(RankTiming.slowest(timings), 1)
    }

    func testLog2ScaleGivesEachDoublingTheSameWidth() {
        let scale = Scale.log2(covering: [64, 128, 256, 1024])
        let (a, b, c) = (scale.fraction(64), scale.fraction(128), scale.fraction(256))
        XCTAssertEqual(b - a, c - b, accuracy: 1e-12)
        XCTAssertEqual(scale.ticks.map(\.value), [64, 128, 256, 512, 1024])
        XCTAssertEqual(scale.ticks.map(\.label), ["64", "128", "256", "512", "1024"])
    }
}
