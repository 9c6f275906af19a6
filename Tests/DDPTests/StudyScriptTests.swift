// launch/study.sh and launch/papers/*.sh with a stand-in ddp (DDP) that records how it was called:
// a folder that already holds a sweep, even one cut before its first run ended (sweep.json only),
// is refused before anything runs, naming the resume; the report comes from the ddp that ran the sweep.
import Foundation
import XCTest

final class StudyScriptTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A stand-in ddp that appends its arguments, one call a line, to `log`.
    func standIn(_ folder: String, log: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/ddp"
        try Data("#!/bin/sh\necho \"$*\" >> '\(log)'\n".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    func script(_ name: String, _ arguments: [String] = [], environment: [String: String]) throws -> Outcome {
        try DDPProcess.capture("/bin/bash", [root.appendingPathComponent(name).path] + arguments, environment: environment)
    }

    func testAFolderHoldingACutSweepIsRefusedNamingTheResume() throws {
        let scratch = DDPProcess.temporaryFolder("study-scripts-refuse")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let log = scratch + "/calls.log"
        let ddp = try standIn(scratch + "/bin", log: log)
        // Cut before its first run ended: sweep.json, no results.csv.
        let out = scratch + "/cut"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data("{}\n".utf8).write(to: URL(fileURLWithPath: out + "/sweep.json"))
        for (name, variable, arguments) in [("launch/study.sh", "STUDY_OUT", []), ("launch/papers/keskar2017.sh", "PAPER_OUT", ["--quick"]),
                                            ("launch/papers/hoffer2017.sh", "PAPER_OUT", [])] {
            let outcome = try script(name, arguments, environment: ["DDP": ddp, variable: out])
            XCTAssertEqual(outcome.status, 1, name + outcome.all)
            XCTAssertTrue(outcome.stderr.contains("\(out) already holds a"), name + outcome.all)
            XCTAssertTrue(outcome.stderr.contains("ddp sweep --resume \(out)"), name + outcome.all)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: log), "no ddp was started")
    }

    func testTheStudysReportComesFromTheDDPThatRanItsSweep() throws {
        let scratch = DDPProcess.temporaryFolder("study-scripts-ddp")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let log = scratch + "/calls.log"
        let ddp = try standIn(scratch + "/bin", log: log)
        let out = scratch + "/study"
        // The stand-in writes no report, so the figures step after it fails: only the calls matter here.
        _ = try script("launch/study.sh", environment: ["DDP": ddp, "STUDY_OUT": out])
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(calls.filter { $0.hasPrefix("sweep ") }.count, 2, "one sweep launch, two ranks: \(calls)")
        XCTAssertTrue(calls.contains("report \(out)"), "\(calls)")
    }
}
