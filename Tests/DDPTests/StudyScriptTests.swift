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

    /// launch/slurm.sbatch names the run or sweep folder after the job and adds --auto-resume unless
    /// they are given, on the command line or as keys of a --config study file (the script's folder
    /// silently won over the file's run-dir). srun is a stand-in that records the ranks' command.
    func testTheSlurmScriptLeavesAFolderAStudyFileGivesAlone() throws {
        let scratch = DDPProcess.temporaryFolder("slurm-arguments")
        let log = scratch + "/calls.log"
        let srun = try standIn(scratch + "/bin", log: log)
        try FileManager.default.moveItem(atPath: srun, toPath: scratch + "/bin/srun")
        let study = scratch + "/study.toml"
        try Data("lr = 0.1\nrun-dir = \"runs/mine\"\n".utf8).write(to: URL(fileURLWithPath: study))
        let environment = ["PATH": scratch + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? ""), "SLURM_JOB_ID": "77",
                           "SLURM_TASKS_PER_NODE": "2", "DDP_HOME": root.path, "DDP": "/bin/true"]
        let cases: [([String], String)] = [
            (["train", "--config", study], "train --config \(study) --auto-resume"),
            (["train", "--config=\(study)", "--steps", "3"], "train --config=\(study) --steps 3 --auto-resume"),
            (["train", "--steps", "3"], "train --steps 3 --run-dir runs/slurm-77 --auto-resume"),
            (["train", "--run-dir=runs/x", "--auto-resume"], "train --run-dir=runs/x --auto-resume"),
            (["sweep", "--global-batch", "64"], "sweep --global-batch 64 --out sweeps/slurm-77 --auto-resume"),
            (["train", "--resume", "runs/old"], "train --resume runs/old"),
        ]
        for (arguments, expected) in cases {
            try? FileManager.default.removeItem(atPath: log)
            let outcome = try script("launch/slurm.sbatch", arguments, environment: environment)
            XCTAssertEqual(outcome.status, 0, outcome.all)
            let call = try String(contentsOfFile: log, encoding: .utf8).trimmingCharacters(in: .newlines)
            XCTAssertTrue(call.hasSuffix("/launch/rank-env.sh /bin/true " + expected), "\(arguments): \(call)")
        }
    }
}
