// --auto-resume, what a requeued batch job runs: an empty or missing folder starts the run, one
// with a checkpoint continues it (here after a SIGTERM that reached one rank), a finished run is
// left alone, and a folder of other files or a run made with other flags is refused untouched.
// And a sweep cut by SIGTERM continues on another rank count to the rows of an uncut one.
import Foundation
import XCTest

final class AutoResumeTests: XCTestCase {
    // 64 steps an epoch at 2 x 32; 8 evaluations an epoch: after steps 8, 16, ..., 56 and the last, 60.
    let flags = ["train", "--data", "synthetic", "--steps", "60", "--optimizer", "adam", "--evals-per-epoch", "8", "--auto-resume"]

    func testAutoResumeStartsContinuesFinishesAndRefuses() throws {
        // An empty folder: the run starts there.
        let whole = DDPProcess.temporaryFolder("auto-whole")
        try FileManager.default.createDirectory(atPath: whole, withIntermediateDirectories: true)
        XCTAssertEqual(try DDPProcess.run(flags + ["--run-dir", whole], ranks: 2).status, 0)

        // A missing folder: starts; rank 1 alone gets SIGTERM after step 20, every rank stops after step 21.
        let dir = DDPProcess.temporaryFolder("auto")
        let stopped = try DDPProcess.run(flags + ["--run-dir", dir], ranks: 2, environment: ["DDP_FAULT": "term:20:1"])
        XCTAssertNotEqual(stopped.status, 0)
        XCTAssertEqual(try DDPProcess.json(dir + "/summary.json")["interrupted_at_step"] as? Int, 21, stopped.all)

        // Other flags than the run's: refused, naming the setting, nothing written.
        let before = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        let other = try DDPProcess.run(flags + ["--run-dir", dir, "--lr", "0.02"], ranks: 2)
        XCTAssertNotEqual(other.status, 0)
        XCTAssertEqual(other.errorLines.count, 1, other.all)
        XCTAssertTrue(other.all.contains("was started with other settings (learningRate)"), other.all)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), before)

        // The same command again (the requeued job): continues, on 1 rank this time, to the same end.
        let resumed = try DDPProcess.run(flags + ["--run-dir", dir], ranks: 1)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("resuming \(dir) at epoch 1, step 21 on 1 rank(s) (it ran on 2)"), resumed.stdout)
        let difference = relativeDifference(try safetensorsParameters(dir + "/model.safetensors"),
                                            try safetensorsParameters(whole + "/model.safetensors"))
        XCTAssertLessThan(difference, 1e-5)

        // Time over both launches: metrics.csv's `seconds` is the run's total, so it keeps growing
        // across the resume; `launch` and `launch_seconds` are each launch's own.
        let rows = try csvRows(dir + "/metrics.csv")
        XCTAssertEqual(rows.map { $0["step"] }, ["8", "16", "24", "32", "40", "48", "56", "60"])
        XCTAssertEqual(rows.map { $0["launch"] }, ["1", "1", "2", "2", "2", "2", "2", "2"])
        let seconds = rows.map { Double($0["seconds"] ?? "") ?? -1 }, launchSeconds = rows.map { Double($0["launch_seconds"] ?? "") ?? -1 }
        XCTAssertEqual(seconds, seconds.sorted(), "the run's seconds never go back: \(seconds)")
        let firstLaunchEnd = seconds[1]
        for (i, row) in rows.enumerated() {
            if row["launch"] == "1" {
                XCTAssertEqual(seconds[i], launchSeconds[i], accuracy: 0.002, "one launch so far: the run's time is the launch's")
            } else {
                // The printed figures round to 1 ms; the first launch lasted at least until its checkpoint after step 21.
                XCTAssertGreaterThanOrEqual(seconds[i] - launchSeconds[i], firstLaunchEnd - 0.002, "row \(i): \(seconds[i]) vs \(launchSeconds[i])")
            }
        }
        XCTAssertLessThan(launchSeconds[2], seconds[2], "the second launch's own clock starts again")
        XCTAssertTrue(resumed.stdout.contains(" over 2 launches (this launch: "), resumed.stdout)

        // Finished: nothing to do, nothing rewritten.
        let summary = try Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json"))
        let again = try DDPProcess.run(flags + ["--run-dir", dir], ranks: 2)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertTrue(again.stdout.contains("run \(dir) already finished (it has summary.json): nothing to do"), again.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json")), summary)

        // A folder of unrelated files: refused, left as it was.
        let unrelated = DDPProcess.temporaryFolder("auto-unrelated")
        try FileManager.default.createDirectory(atPath: unrelated, withIntermediateDirectories: true)
        try Data("my notes".utf8).write(to: URL(fileURLWithPath: unrelated + "/notes.txt"))
        let refused = try DDPProcess.run(flags + ["--run-dir", unrelated], ranks: 2)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.errorLines.count, 1, refused.all)
        XCTAssertTrue(refused.all.contains("holds files but no checkpoint.ddp to continue from"), refused.all)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: unrelated), ["notes.txt"])
    }

    func testASweepCutBySIGTERMContinuesOnAnotherRankCount() throws {
        // 64 first: the cut point's batch would allow 64 ranks, the sweep's other batch does not.
        let grid = ["sweep", "--data", "synthetic", "--global-batch", "64,32", "--rules", "none", "--seeds", "1",
                    "--budget", "steps:40", "--batch-per-rank", "16", "--optimizer", "adam"]
        let whole = DDPProcess.temporaryFolder("sweep-whole"), cut = DDPProcess.temporaryFolder("sweep-cut")
        XCTAssertEqual(try DDPProcess.run(grid + ["--out", whole], ranks: 2).status, 0)
        // Rank 0 gets SIGTERM after step 15 of the first point: the sweep stops there, with a checkpoint.
        let stopped = try DDPProcess.run(grid + ["--out", cut, "--auto-resume"], ranks: 2, environment: ["DDP_FAULT": "term:15:0"])
        XCTAssertEqual(stopped.status, 143, stopped.all)
        XCTAssertTrue(stopped.stdout.contains("stopped by SIGTERM after step 16"), stopped.stdout)
        XCTAssertTrue(stopped.stdout.contains("sweep --resume \(cut) (-np may be any of 1, 2, 4, 8, 16, 32)"), stopped.stdout)

        // A rank count that does not divide every batch is refused, naming those that do.
        let three = try DDPProcess.run(["sweep", "--resume", cut], ranks: 3)
        XCTAssertEqual(three.errorLines.count, 1, three.all)
        XCTAssertTrue(three.all.contains("it can run on 1, 2, 4, 8, 16, 32 ranks"), three.all)

        // The requeued job's same command, on 4 ranks: continues the cut point, then runs the other.
        let resumed = try DDPProcess.run(grid + ["--out", cut, "--auto-resume"], ranks: 4)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("(resuming: 0 done, 1 to continue)"), resumed.stdout)
        let table: (String) throws -> [[String]] = { dir in
            try String(contentsOfFile: dir + "/results.csv", encoding: .utf8).split(separator: "\n")
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        let (a, b) = (try table(cut), try table(whole))
        XCTAssertEqual(a.count, 3)
        XCTAssertEqual(a.first, b.first)
        let timing: Set<String> = ["wall_seconds", "samples_per_sec", "gns"]  // gns: each rank's micro-batch differs on 4 ranks
        for (rowA, rowB) in zip(a.dropFirst(), b.dropFirst()) {
            for (column, (x, y)) in zip(b[0], zip(rowA, rowB)) where !timing.contains(column) {
                // The 1e-5: these rows agreed to every printed digit when measured.
                if let u = Double(x), let v = Double(y), x != y {
                    XCTAssertEqual(u, v, accuracy: 1e-5 * max(abs(v), 1e-3), "\(column): \(x) vs \(y)")
                } else {
                    XCTAssertEqual(x, y, column)
                }
            }
        }
    }

    /// A BatchNorm sweep without --ghost-batch: the cut point's statistics groups are its 2 ranks'
    /// micro-batches (32), recorded in its checkpoint, so only 1 and 2 ranks continue the sweep,
    /// though the other point (128, not started) would run on more. The line after the stop and the
    /// refusal of 4 ranks both name 1 and 2; 1 rank continues it.
    func testABatchNormSweepContinuesOnlyOnRankCountsThatKeepTheCutPointsGhostBatches() throws {
        let grid = ["sweep", "--data", "synthetic", "--model", "fc64-bn-relu-fc10", "--global-batch", "64,128", "--rules", "none",
                    "--seeds", "1", "--budget", "steps:40", "--batch-per-rank", "32", "--optimizer", "adam"]
        let cut = DDPProcess.temporaryFolder("sweep-ghost")
        let stopped = try DDPProcess.run(grid + ["--out", cut], ranks: 2, environment: ["DDP_FAULT": "term:15:1"])
        XCTAssertEqual(stopped.status, 143, stopped.all)
        XCTAssertTrue(stopped.stdout.contains("stopped by SIGTERM after step 16"), stopped.stdout)
        XCTAssertTrue(stopped.stdout.contains("sweep --resume \(cut) (-np may be any of 1, 2)"), stopped.stdout)

        _ = try expectRefusal(["sweep", "--resume", cut], ranks: 4,
                              mentioning: "the ghost batches of this sweep do not divide over the 4 ranks; it can run on 1, 2 ranks "
                                          + "(they divide every global batch, into its ghost batches)")

        let one = try DDPProcess.run(["sweep", "--resume", cut], ranks: 1)
        XCTAssertEqual(one.status, 0, one.all)
        XCTAssertTrue(one.stdout.contains("(resuming: 0 done, 1 to continue)"), one.stdout)
        XCTAssertEqual(try csvRows(cut + "/results.csv").map { $0["steps"] }, ["40", "40"])
    }

    /// A sweep with a local-SGD rule continues only on the rank count it ran on, even when it was
    /// cut in a synchronous point: its local-SGD points (each rank a replica) would otherwise run on
    /// the new count, another algorithm than the seed siblings already run. The line after the stop
    /// names that count alone; 1 rank is refused before anything trains; 2 ranks continue it.
    func testALocalSGDSweepContinuesOnlyOnTheRankCountItRanOn() throws {
        let grid = ["sweep", "--data", "synthetic", "--global-batch", "64", "--rules", "none,none+local4", "--seeds", "1",
                    "--budget", "steps:30", "--batch-per-rank", "32", "--trace-steps", "none"]
        let cut = DDPProcess.temporaryFolder("sweep-local")
        let stopped = try DDPProcess.run(grid + ["--out", cut], ranks: 2, environment: ["DDP_FAULT": "term:10:1"])
        XCTAssertEqual(stopped.status, 143, stopped.all)
        XCTAssertTrue(stopped.stdout.contains("sweep --resume \(cut) (-np may be any of 2)"), stopped.stdout)

        let refused = try expectRefusal(["sweep", "--resume", cut], ranks: 1,
                                        mentioning: "error: this sweep ran on 2 ranks and has local-SGD points, where each rank is a replica: "
                                                    + "it continues only on 2 (on 1 its points would be another algorithm than those already run)")
        XCTAssertFalse(refused.stdout.contains("resuming"), refused.stdout)

        let two = try DDPProcess.run(["sweep", "--resume", cut], ranks: 2)
        XCTAssertEqual(two.status, 0, two.all)
        XCTAssertEqual(try csvRows(cut + "/results.csv").map { $0["rule"] }, ["none", "none+local4"])
        XCTAssertEqual(try DDPProcess.json(cut + "/b00064-none+local4-s1/summary.json")["ranks"] as? Int, 2)
    }
}

/// A CSV file's rows, each by its header's column names.
func csvRows(_ path: String) throws -> [[String: String]] {
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    guard let header = lines.first else { return [] }
    return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
}
