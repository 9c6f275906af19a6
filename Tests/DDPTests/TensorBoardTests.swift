// TensorBoard event files read back by tensorboard's own reader (launch/tensorboard_check.py,
// EventAccumulator from PyPI, installed by launch/python-env.sh): every tag, step and value equals
// steps.csv, metrics.csv, timing.csv and imbalance.csv; a sweep's folder shows one run per point.
import Foundation
import XCTest

final class TensorBoardTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `launch/tensorboard_check.py arguments` under the venv's python; skips without tensorboard.
    func check(_ arguments: [String]) throws -> Outcome {
        let python = Self.root.appendingPathComponent(".build/python/bin/python").path
        let probe = FileManager.default.isExecutableFile(atPath: python) ? try DDPProcess.capture(python, ["-c", "import tensorboard"]) : nil
        guard probe?.status == 0 else {
            throw XCTSkip("the tensorboard Python package is not installed in .build/python (bash launch/python-env.sh installs it from PyPI)")
        }
        return try DDPProcess.capture(python, [Self.root.appendingPathComponent("launch/tensorboard_check.py").path] + arguments)
    }

    func testTwoRankRunEventsEqualItsCSVs() throws {
        let run = DDPProcess.temporaryFolder("tb-run")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--epochs", "2", "--evals-per-epoch", "3",
                                          "--batch-per-rank", "64", "--run-dir", run], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let checked = try check([run])
        XCTAssertEqual(checked.status, 0, checked.all)
        // 64 steps of 4 tags (2 x 32 steps at global batch 128 of 4096 samples), 6 evaluations of 7,
        // 2 epochs of 7 phases x 2 ranks from timing.csv, and 2 x 2 allreduce waits.
        let points: Int = 64 * 4 + 6 * 7 + 2 * 7 * 2 + 2 * 2
        XCTAssertTrue(checked.stdout.contains("27 tags, \(points) points match"), checked.stdout)

        // The reader's checks are live: one flipped byte in a record is a CRC failure.
        let events = try FileManager.default.contentsOfDirectory(atPath: run + "/tb").map { run + "/tb/" + $0 }
        XCTAssertEqual(events.count, 1)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: events[0]))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: events[0]))
        let damaged = try check([run])
        XCTAssertNotEqual(damaged.status, 0)
        XCTAssertTrue(damaged.stdout.contains("bad CRC"), damaged.all)
    }

    /// A run killed in epoch 2 after an evaluation no checkpoint followed (evaluations every 8 steps,
    /// checkpoints every 6: killed after step 40, the last checkpoint of step 36) and resumed: the
    /// reader shows each step once, as the resumed launch wrote it (its event file opens with a
    /// SessionLog START at step 37), and timing.csv names epoch 2, the one that launch timed.
    func testAResumedRunShowsEachStepOnce() throws {
        let run = DDPProcess.temporaryFolder("tb-resume")
        let killed = try DDPProcess.run(["train", "--data", "synthetic", "--epochs", "2", "--evals-per-epoch", "4", "--checkpoint-every", "6",
                                         "--batch-per-rank", "64", "--run-dir", run], ranks: 2, environment: ["DDP_FAULT": "kill:40:0"])
        XCTAssertNotEqual(killed.status, 0, killed.all)
        let resumed = try DDPProcess.run(["train", "--resume", run], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("resuming \(run) at epoch 2, step 36"), resumed.stdout)
        XCTAssertEqual(Set(try String(contentsOfFile: run + "/timing.csv", encoding: .utf8).split(separator: "\n").dropFirst()
                           .map { $0.split(separator: ",")[2] }), ["2"])
        let checked = try check([run])
        XCTAssertEqual(checked.status, 0, checked.all)
        // 64 steps of 4 tags, 8 evaluations of 7, epoch 2's 7 phases x 2 ranks from timing.csv, and its 2 allreduce waits.
        let points: Int = 64 * 4 + 8 * 7 + 7 * 2 + 2
        XCTAssertTrue(checked.stdout.contains("2 event file(s), 83 records, 27 tags, \(points) points match"), checked.stdout)
    }

    func testSweepFolderOverlaysOneRunPerPoint() throws {
        let dir = DDPProcess.temporaryFolder("tb-sweep")
        let outcome = try DDPProcess.run(["sweep", "--data", "synthetic", "--global-batch", "64,256", "--rules", "none,sqrt",
                                          "--seeds", "1", "--budget", "steps:12", "--out", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let checked = try check(["--sweep", dir])
        XCTAssertEqual(checked.status, 0, checked.all)
        XCTAssertTrue(checked.stdout.contains("shows 4 runs: b00064-none-s1/tb, b00064-sqrt-s1/tb, b00256-none-s1/tb, b00256-sqrt-s1/tb"),
                      checked.stdout)
        XCTAssertEqual(checked.stdout.components(separatedBy: "points match the CSVs").count, 5, checked.stdout)
    }

    func testNoTensorboardWritesNoEvents() throws {
        let on = DDPProcess.temporaryFolder("tb-on"), off = DDPProcess.temporaryFolder("tb-off")
        let common = ["train", "--data", "synthetic", "--steps", "3"]
        XCTAssertEqual(try DDPProcess.run(common + ["--run-dir", on]).status, 0)
        XCTAssertEqual(try DDPProcess.run(common + ["--run-dir", off, "--no-tensorboard"]).status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: on + "/tb").count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: off + "/tb"))
        // Turning events off changes nothing trained.
        XCTAssertEqual(try DDPProcess.json(on + "/summary.json")["param_checksum"] as? String,
                       try DDPProcess.json(off + "/summary.json")["param_checksum"] as? String)
    }

    /// A step skipped as non-finite (--on-nan skip) has no accuracy point (it had 0 while steps.csv
    /// leaves it empty); a run stopped by a non-finite step has its cut epoch's timing in the events
    /// as in timing.csv; and a run that diverged before its first evaluation (no metrics.csv) is
    /// read without a traceback. The reader compares every point with the CSVs.
    func testSkippedStoppedAndEarlyDivergedRunsMatchTheCSVs() throws {
        for (flags, status) in [(["--on-nan", "skip"], Int32(0)), ([String](), Int32(1))] {
            let run = DDPProcess.temporaryFolder("tb-nan")
            let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--epochs", "2", "--evals-per-epoch", "2",
                                              "--batch-per-rank", "64", "--run-dir", run] + flags, ranks: 2, environment: ["DDP_FAULT": "nan:40:1"])
            XCTAssertEqual(outcome.status, status, outcome.all)
            let checked = try check([run])
            XCTAssertEqual(checked.status, 0, checked.all)
        }
        let early = DDPProcess.temporaryFolder("tb-early")
        let diverged = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "20", "--batch-per-rank", "64", "--run-dir", early],
                                          ranks: 2, environment: ["DDP_FAULT": "nan:3:0"])
        XCTAssertEqual(diverged.status, 1, diverged.all)
        XCTAssertFalse(FileManager.default.fileExists(atPath: early + "/metrics.csv"))
        let checked = try check([early])
        XCTAssertEqual(checked.status, 0, checked.all)
    }
}
