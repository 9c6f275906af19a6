// `ddp report` as a user runs it, without mpirun: on a real `ddp train` run folder it writes one
// page; it refuses to overwrite without --force and refuses a folder that is neither kind, each
// with one error line and a non-zero exit.
import Foundation
import XCTest

final class ReportCommandTests: XCTestCase {
    func testReportOnARealRunFolder() throws {
        let dir = DDPProcess.temporaryFolder("report-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = try DDPProcess.run(["train", "--data", "synthetic", "--epochs", "1", "--batch-per-rank", "128", "--run-dir", dir])
        XCTAssertEqual(train.status, 0, train.all)

        let first = try DDPProcess.run(["report", dir])
        XCTAssertEqual(first.status, 0, first.all)
        XCTAssertTrue(first.stdout.contains("report written to \(dir)/report.html"), first.all)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("data-chart=\"run-accuracy\""))
        XCTAssertTrue(html.contains("data-chart=\"run-timing\""))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"))

        let again = try DDPProcess.run(["report", dir])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertEqual(again.errorLines, ["error: \(dir)/report.html already exists; pass --force to overwrite it"], again.all)
        let forced = try DDPProcess.run(["report", dir, "--force"])
        XCTAssertEqual(forced.status, 0, forced.all)

        let other = dir + "/elsewhere.html"
        XCTAssertEqual(try DDPProcess.run(["report", dir, "--output", other]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: other))
    }

    func testReportRefusesAFolderThatIsNeitherSweepNorRun() throws {
        let dir = DDPProcess.temporaryFolder("report-empty")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outcome = try DDPProcess.run(["report", dir])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
        XCTAssertTrue(outcome.errorLines.first?.contains("is neither a sweep folder") ?? false, outcome.all)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/report.html"))
    }
}
