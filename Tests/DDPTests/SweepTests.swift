// `ddp sweep` through a real mpirun: one launch trains the whole grid, each point re-made from its
// seed (so it equals the same `ddp train` run bit for bit), a diverged point is recorded and the
// sweep goes on, and results.csv has one row per run.
import Foundation
import XCTest

final class SweepTests: XCTestCase {
    func testSweepRunsTheGridAndEachPointEqualsAStandaloneRun() throws {
        let dir = DDPProcess.temporaryFolder("sweep")
        // lr 1 trains at batch 64; linear scaling makes it 4 at batch 256, and that point diverges.
        let common = ["--data", "synthetic", "--batch-per-rank", "32", "--lr", "1", "--reference-batch", "64", "--momentum", "0"]
        let outcome = try DDPProcess.run(["sweep"] + common + ["--global-batch", "64,256", "--rules", "none,linear+warmup",
                                          "--seeds", "1,2", "--budget", "steps:12", "--warmup-epochs", "0.1",
                                          "--target", "0.3", "--out", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertEqual(outcome.stdout.components(separatedBy: "swift-ddp sweep: 8 runs").count, 2, "rank 0 alone prints")

        let lines = try String(contentsOfFile: dir + "/results.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 9, lines.joined(separator: "\n"))
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let rows = lines.dropFirst().map { line -> [String: String] in
            Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
        }
        XCTAssertEqual(Set(rows.map { $0["global_batch"]! }), ["64", "256"])
        XCTAssertEqual(Set(rows.map { $0["rule"]! }), ["none", "linear+warmup"])
        XCTAssertEqual(Set(rows.map { $0["seed"]! }), ["1", "2"])
        for row in rows {
            // Batch 256 on 2 ranks x 32 is reached by accumulating 4 micro-batches: same step count.
            if row["diverged"] == "yes" {
                // Stopped at the step it diverged, within the budget, with no final accuracy to plot.
                let summary = try DDPProcess.json("\(dir)/\(row["run"]!)/summary.json")
                XCTAssertEqual(summary["diverged"] as? Bool, true, row.description)
                XCTAssertEqual((summary["diverged_step"] as? Int).map(String.init), row["steps"], row.description)
                XCTAssertLessThan(Int(row["steps"]!)!, 12, row.description)
                XCTAssertEqual([row["test_acc"], row["train_acc"], row["gap"]], ["", "", ""], row.description)
            } else {
                XCTAssertEqual(row["steps"], "12", row.description)
                XCTAssertNotEqual(row["test_acc"], "", row.description)
            }
            let expectedLr = row["rule"] == "none" ? 1.0 : 1.0 * Double(row["global_batch"]!)! / 64
            XCTAssertEqual(Double(row["peak_lr"]!)!, expectedLr, accuracy: 1e-9)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/\(row["run"]!)/summary.json"), row["run"]!)
        }
        let diverged = rows.filter { $0["diverged"] == "yes" }
        XCTAssertFalse(diverged.isEmpty, "lr 4 diverges")
        XCTAssertTrue(diverged.allSatisfy { $0["rule"] == "linear+warmup" && $0["global_batch"] == "256" }, diverged.description)

        // The point (64, none, seed 1) equals a standalone run with the same flags (synthetic data is made
        // from the first seed in a sweep, so seed 1 is the like-for-like standalone run).
        let alone = DDPProcess.temporaryFolder("sweep-alone")
        let single = try DDPProcess.run(["train"] + common + ["--global-batch", "64", "--seed", "1", "--steps", "12", "--run-dir", alone], ranks: 2)
        XCTAssertEqual(single.status, 0, single.all)
        let fromSweep = try DDPProcess.json("\(dir)/b00064-none-s1/summary.json")
        let standalone = try DDPProcess.json(alone + "/summary.json")
        XCTAssertEqual(fromSweep["param_checksum"] as? String, standalone["param_checksum"] as? String)
        XCTAssertNotNil(fromSweep["gns"] as? Double, "2 ranks give two batch sizes, so the noise scale is measured")
    }

    func testACutSweepResumesAndEndsAsIfUncut() throws {
        let grid = ["sweep", "--data", "synthetic", "--global-batch", "64,128", "--rules", "none", "--seeds", "1",
                    "--budget", "steps:40", "--checkpoint-every", "10"]
        let whole = DDPProcess.temporaryFolder("sweep-whole"), cut = DDPProcess.temporaryFolder("sweep-cut")
        XCTAssertEqual(try DDPProcess.run(grid + ["--out", whole], ranks: 2).status, 0)
        // Rank 1 dies after step 25 of the first point (its last checkpoint is step 20).
        let killed = try DDPProcess.run(grid + ["--out", cut], ranks: 2, environment: ["DDP_FAULT": "kill:25:1"])
        XCTAssertNotEqual(killed.status, 0)
        let resumed = try DDPProcess.run(["sweep", "--resume", cut], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("1 to continue"), resumed.stdout)
        let rows = try String(contentsOfFile: cut + "/results.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 3, "one row per point, none twice")
        for point in ["b00064-none-s1", "b00128-none-s1"] {
            XCTAssertEqual(try DDPProcess.json("\(cut)/\(point)/summary.json")["param_checksum"] as? String,
                           try DDPProcess.json("\(whole)/\(point)/summary.json")["param_checksum"] as? String, point)
        }
        // Resuming a finished sweep runs nothing and adds no row.
        let again = try DDPProcess.run(["sweep", "--resume", cut], ranks: 2)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertEqual(try String(contentsOfFile: cut + "/results.csv", encoding: .utf8).split(separator: "\n").count, 3)
    }

    /// A row cut mid-write (a full disk, a dead node) used to count as recorded, by its run name, and
    /// the next row was appended onto its end. The resume drops the cut line and re-makes the row from
    /// the point's summary.json: results.csv ends as the uncut one did, byte for byte; a header cut
    /// short likewise.
    func testAResultsRowCutMidWriteIsMadeAgainOnResume() throws {
        let dir = DDPProcess.temporaryFolder("sweep-cut-row")
        let first = try DDPProcess.run(["sweep", "--data", "synthetic", "--global-batch", "64,128", "--rules", "none", "--seeds", "1",
                                        "--budget", "steps:3", "--out", dir], ranks: 2)
        XCTAssertEqual(first.status, 0, first.all)
        let results = dir + "/results.csv"
        let whole = try String(contentsOfFile: results, encoding: .utf8)
        let lines = whole.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        for cut in [lines[0] + "\n" + lines[1] + "\n" + lines[2].prefix(25), String(lines[0].prefix(12))] {
            try Data(cut.utf8).write(to: URL(fileURLWithPath: results))
            let resumed = try DDPProcess.run(["sweep", "--resume", dir], ranks: 2)
            XCTAssertEqual(resumed.status, 0, resumed.all)
            XCTAssertTrue(resumed.stdout.contains("(resuming: 2 done, 0 to continue)"), resumed.stdout)
            XCTAssertEqual(try String(contentsOfFile: results, encoding: .utf8), whole, "cut after \(cut.count) bytes")
        }
    }

    func testABadRuleIsRefusedBeforeAnythingRuns() throws {
        let dir = DDPProcess.temporaryFolder("sweep-bad")
        let outcome = try DDPProcess.run(["sweep", "--data", "synthetic", "--rules", "none,cubic", "--out", dir], ranks: 2)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
        XCTAssertTrue(outcome.all.contains("rule 'cubic'"), outcome.all)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
    }

    /// A rule typed but run nowhere: an empty item in --rules ("none," lost "sqrt"), or the remedies
    /// of --remedies-above-smallest-only over a single batch. Each was dropped in silence and the sweep
    /// trained the rest; now one usage error from one rank, exit 64, no folder.
    func testARuleThatWouldRunAtNoPointIsRefusedBeforeAnythingRuns() throws {
        let cases: [([String], String)] = [
            (["--rules", "none,", "--global-batch", "64"], "--rules 'none,' has an empty rule between its commas"),
            (["--rules", "none,,sqrt", "--global-batch", "64"], "--rules 'none,,sqrt' has an empty rule between its commas"),
            (["--rules", "none,sqrt,sqrt+gb16", "--global-batch", "64", "--remedies-above-smallest-only"],
             "--remedies-above-smallest-only runs the rules after the first (sqrt, sqrt+gb16) only at batches above the smallest, "
             + "and --global-batch has one batch (64): give a larger batch too"),
        ]
        for (flags, message) in cases {
            let dir = DDPProcess.temporaryFolder("sweep-no-rule")
            let outcome = try DDPProcess.run(["sweep", "--data", "synthetic", "--budget", "steps:2", "--out", dir] + flags, ranks: 2)
            XCTAssertEqual(outcome.status, 64, outcome.all)
            XCTAssertEqual(outcome.errorLines, ["Error: " + message], outcome.all)
            XCTAssertFalse(outcome.all.contains("swift-ddp sweep:"), "nothing trained")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
        }
        // Spaces after the commas are the rules themselves, as in --global-batch 64, 128.
        let spaced = DDPProcess.temporaryFolder("sweep-spaced-rules")
        let outcome = try DDPProcess.run(["sweep", "--data", "synthetic", "--budget", "steps:1", "--global-batch", "64",
                                          "--rules", "none, sqrt", "--out", spaced], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let rules = try String(contentsOfFile: spaced + "/results.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false)[2] }
        XCTAssertEqual(rules, ["none", "sqrt"])
    }

    func testDivergedTrainRunSaysSoOnceAndExitsNonZero() throws {
        let dir = DDPProcess.temporaryFolder("diverge")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--lr", "50", "--momentum", "0", "--steps", "30",
                                          "--run-dir", dir], ranks: 2)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
        XCTAssertTrue(outcome.errorLines[0].contains("diverged at step"), outcome.all)
        let summary = try DDPProcess.json(dir + "/summary.json")
        XCTAssertEqual(summary["diverged"] as? Bool, true)
    }
}
