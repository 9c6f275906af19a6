// Issue 14, second round: inputs a hostile try found after the first round's fixes, through the
// built executable. Step counts that would size per-step records beyond memory or overflow,
// results that are not finite, flags a resume would ignore, file-system messages that must name
// the real fault, and one-process commands under mpirun.
import Foundation
import TestSupport
import XCTest

final class HostileInputTests: XCTestCase {
    func testStepCountsBeyondMemoryOrIntAreOneErrorNotACrash() throws {
        let dir = DDPProcess.temporaryFolder("hostile-steps")
        let base = ["--data", "synthetic"]
        _ = try expectRefusal(["train"] + base + ["--steps", "99999999999999999", "--run-dir", dir],
                                        mentioning: "the per-step timing record of 99999999999999999 steps needs about", status: 1)
        // 4096 / 64 = 64 steps an epoch: 1e11 epochs fit in Int, not in memory; 9e18 do not fit in Int.
        _ = try expectRefusal(["train"] + base + ["--epochs", "100000000000", "--run-dir", dir],
                                        mentioning: "the per-step timing record of 6400000000000 steps")
        _ = try expectRefusal(["train"] + base + ["--epochs", "9000000000000000000", "--run-dir", dir],
                                        mentioning: "--epochs 9000000000000000000 is more steps than can be counted (64 steps each)")
        let sweep = dir + "-sweep"
        _ = try expectRefusal(["sweep"] + base + ["--global-batch", "64", "--rules", "none", "--budget", "steps:99999999999999999", "--out", sweep],
                                        mentioning: "the per-step timing record of 99999999999999999 steps")
        _ = try expectRefusal(["bench"] + base + ["--batches", "32", "--steps", "99999999999999999", "--out", dir + ".json"],
                                        mentioning: "(the per-step timings) needs about", status: 64)
        for path in [dir, sweep, dir + ".json"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing written for a refused \(path)")
        }
    }

    /// Under --on-nan skip, an update that leaves the weights unusable is skipped forever after: the
    /// run has diverged, no NaN reaches a file, and the unmeasured results are null.
    func testSkippedNonFiniteStepsThatNeverRecoverAreADivergedRunWithNoNaNInFiles() throws {
        let dir = DDPProcess.temporaryFolder("hostile-nan")
        let outcome = try expectRefusal(["train", "--data", "synthetic", "--on-nan", "skip", "--lr", "1e30", "--steps", "70", "--run-dir", dir],
                                                  mentioning: "training diverged at step 64 (the evaluation loss is not finite")
        XCTAssertEqual(outcome.status, 1)
        let summary = try DDPProcess.json(dir + "/summary.json")
        XCTAssertEqual(summary["diverged"] as? Bool, true)
        XCTAssertEqual(summary["diverged_step"] as? Int, 64)
        XCTAssertTrue(summary["test_acc"] is NSNull, "an evaluation of non-finite weights is not a result")
        XCTAssertGreaterThan(summary["skipped_steps"] as? Int ?? 0, 0)
        // A value (a CSV field or a JSON value) spelled nan or inf, quoted or not, signed or not.
        let nonFinite = try NSRegularExpression(pattern: #"(^|[,:\[ ])"?[-+]?(nan|inf)"?($|[,\]}\n])"#, options: [.caseInsensitive, .anchorsMatchLines])
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasSuffix(".csv") || name.hasSuffix(".json") {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            XCTAssertNil(nonFinite.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), "\(name) holds a non-finite value")
        }
    }

    func testSharpnessBoxOutOfRangeIsRefused() throws {
        let dir = DDPProcess.temporaryFolder("hostile-sharpness")
        _ = try expectRefusal(["train", "--data", "synthetic", "--steps", "2", "--sharpness", "1e30", "--run-dir", dir],
                                        mentioning: "--sharpness is a box size relative to each weight, in [1.1920929e-07, 1]", status: 64)
    }

    /// `--resume` takes every setting from the checkpoint: a flag that would change one is refused
    /// by name (it used to be ignored, and the run continued as before in the old folder).
    func testResumeRefusesFlagsThatContradictTheCheckpointButTakesTheSameOnes() throws {
        let dir = DDPProcess.temporaryFolder("hostile-resume")
        let flags = ["train", "--data", "synthetic", "--steps", "100", "--checkpoint-every", "40", "--lr", "0.05"]
        XCTAssertEqual(try DDPProcess.run(flags + ["--run-dir", dir], ranks: 2).status, 0)
        try FileManager.default.removeItem(atPath: dir + "/summary.json")  // as if stopped after step 80
        let stepsBefore = try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8)
        let refused = try expectRefusal(["train", "--resume", dir, "--global-batch", "128", "--lr", "0.5", "--steps", "300", "--run-dir", dir + "-other"],
                                                  mentioning: "--global-batch, --lr, --steps, --run-dir would change them")
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8), stepsBefore, "a refused resume writes nothing")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "-other"))
        _ = try expectRefusal(["train", "--resume", dir, "--budget", "epochs:9"], mentioning: "--budget would change them")
        // On 1 rank the run's 64 is 32 x 2: that split given passes (it was refused as a change),
        // another is refused.
        _ = try expectRefusal(["train", "--resume", dir, "--accumulate", "4"], ranks: 1, mentioning: "--accumulate would change them")
        let copy = dir + "-one-rank"
        try FileManager.default.copyItem(atPath: dir, toPath: copy)
        let split = try DDPProcess.run(["train", "--resume", copy, "--batch-per-rank", "32", "--accumulate", "2"], ranks: 1)
        XCTAssertEqual(split.status, 0, split.all)
        XCTAssertEqual(try DDPProcess.json(copy + "/summary.json")["accumulate"] as? Int, 2)
        // The same flags again (a script that adds --resume), with the run's own global batch and folder.
        let again = try DDPProcess.run(flags + ["--resume", dir, "--run-dir", dir, "--global-batch", "64", "--blas-threads", "1"], ranks: 2)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertEqual(try DDPProcess.json(dir + "/summary.json")["steps"] as? Int, 100)
    }

    func testFileSystemMessagesNameTheRealFault() throws {
        let root = DDPProcess.temporaryFolder("hostile-files")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let file = root + "/a-file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        _ = try expectRefusal(["train", "--data", file], mentioning: "--data \(file) is a file, not a folder")
        _ = try expectRefusal(["train", "--data", "synthetic", "--steps", "2", "--run-dir", file + "/run"],
                                        mentioning: "cannot create run folder \(file)/run: \(file) is a file, not a folder")
        _ = try expectRefusal(["train", "--config", root], mentioning: "--config \(root): cannot read it (\(root) is a folder, not a file)", status: 64)
        let latin1 = root + "/latin1.toml"
        try Data([0x6c, 0x72, 0x20, 0x3d, 0x20, 0x31, 0x0a, 0xff, 0xfe, 0x0a]).write(to: URL(fileURLWithPath: latin1))
        _ = try expectRefusal(["train", "--config", latin1], mentioning: "cannot read it (it is not UTF-8 text)", status: 64)
        for line in try DDPProcess.run(["train", "--config", latin1], ranks: 2).errorLines {
            XCTAssertFalse(line.contains("NSCocoaErrorDomain") || line.contains("error 2"), line)
        }
    }

    /// Counts whose product or conversion leaves Int used to trap on every rank (exit 132, no
    /// message); a ghost batch that divides no split of the batch was named with an empty list.
    func testCountsBeyondIntAndUnsplittableBatchesAreOneErrorNotACrash() throws {
        let dir = DDPProcess.temporaryFolder("hostile-overflow")
        let base = ["train", "--data", "synthetic", "--run-dir", dir]
        _ = try expectRefusal(base + ["--accumulate", "9223372036854775807"], mentioning: "global batch 2 x 32 x 9223372036854775807 "
                              + "(ranks x --batch-per-rank x --accumulate) is larger than the 4096 training samples", status: 1)
        // 64 steps an epoch, 5 epochs.
        _ = try expectRefusal(base + ["--warmup-epochs", "1e300"], mentioning: "--warmup-epochs 1e+300 (6.4e+301 steps) is longer than training (320 steps)", status: 1)
        _ = try expectRefusal(base + ["--ghost-batch", "48", "--global-batch", "64"],
                              mentioning: "--global-batch 64 does not split into ghost batches of 48 on any rank count (48 does not divide 64)", status: 1)
        let huge = "synthetic-binary:9223372036854775807x9223372036854775807"
        _ = try expectRefusal(["train", "--data", huge, "--run-dir", dir], mentioning: "--data \(huge) (9223372036854775807 x 9223372036854775807 bytes "
                              + "and a fifth as many to test) needs about 1.02e+29 GB per rank", status: 1)
        let sweep = dir + "-sweep"
        _ = try expectRefusal(["sweep", "--data", "synthetic", "--global-batch", "64,128", "--ghost-batch", "48", "--rules", "none", "--budget", "steps:1", "--out", sweep],
                              mentioning: "b00064-none+gb48-s1: --global-batch 64 does not split into ghost batches of 48 on any rank count", status: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir) || FileManager.default.fileExists(atPath: sweep), "nothing written for a refused run")
        // A reference batch beyond the set: regime:1 is one step of it.
        let regime = try DDPProcess.run(base + ["--budget", "regime:1", "--reference-batch", "9223372036854775807"], ranks: 2)
        XCTAssertEqual(regime.status, 0, regime.all)
        XCTAssertEqual(try DDPProcess.json(dir + "/summary.json")["steps"] as? Int, 1)
    }

    /// Under regime adaptation --decay-epochs are epochs of --reference-batch, as the budget and
    /// warmup are: they were compared with epochs of the run's own batch, refusing a decay inside
    /// the budget below the reference batch and passing one after the last step above it.
    func testRegimeDecayEpochsAreEpochsOfTheReferenceBatch() throws {
        let dir = DDPProcess.temporaryFolder("hostile-regime-decay")
        // 256 samples: 4 steps an epoch at the reference batch 64, so regime:10 is 40 steps at any batch.
        let base = ["train", "--data", "synthetic-binary:256x20", "--budget", "regime:10", "--decay", "step", "--reference-batch", "64"]
        let run = try DDPProcess.run(base + ["--global-batch", "32", "--decay-epochs", "8", "--run-dir", dir], ranks: 2)
        XCTAssertEqual(run.status, 0, run.all)
        let schedule = (try DDPProcess.json(dir + "/config.json")["config"] as? [String: Any])?["schedule"] as? [String: Any]
        XCTAssertEqual(schedule?["total_steps"] as? Int, 40)
        XCTAssertEqual(schedule?["milestones"] as? [Int], [32], "8 of 10 reference epochs")
        _ = try expectRefusal(base + ["--global-batch", "128", "--decay-epochs", "12", "--run-dir", dir + "-late"],
                              mentioning: "--decay-epochs 12.0 is not before the end of training (10 epochs of the reference batch 64): it would never apply", status: 1)
    }

    /// Infinite values the range checks let through: training then stopped on a NaN naming no
    /// flag (--weight-decay, --warmup-start-lr), or ran with every Adam update zero (--eps).
    /// BatchNorm after fc over ghost groups of one sample outputs its shift alone: the run trained
    /// at chance without a word. Refused for a run and for a sweep point before any point trains;
    /// groups of 2, and one sample of a plane (its pixels are the group), still train.
    func testBatchNormOverOneSampleOfFeaturesIsRefused() throws {
        let dir = DDPProcess.temporaryFolder("hostile-bn1")
        let message = "BatchNorm over 32 features would normalize each over 1 sample (ghost batches of 1: --batch-per-rank 1, or --ghost-batch 1)"
        let base = ["--data", "synthetic", "--steps", "2", "--model", "fc32-bn-relu-fc10"]
        _ = try expectRefusal(["train"] + base + ["--batch-per-rank", "1", "--run-dir", dir], mentioning: message)
        _ = try expectRefusal(["train"] + base + ["--batch-per-rank", "4", "--ghost-batch", "1", "--run-dir", dir], mentioning: message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
        _ = try expectRefusal(["sweep"] + base.filter { $0 != "--steps" && $0 != "2" } + ["--budget", "steps:2", "--global-batch", "4,2", "--batch-per-rank", "1",
                              "--out", dir], mentioning: "b00004-none-s1: " + message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "no point trained")
        for flags in [["--batch-per-rank", "2"], ["--model", "conv4k3-bn-relu-fc10", "--batch-per-rank", "1"]] {
            let ran = try DDPProcess.run(["train"] + base + flags + ["--run-dir", DDPProcess.temporaryFolder("bn1-ok")], ranks: 2)
            XCTAssertEqual(ran.status, 0, ran.all)
        }
    }

    func testInfiniteRatesAreRefusedBeforeTraining() throws {
        let dir = DDPProcess.temporaryFolder("hostile-inf")
        let base = ["train", "--data", "synthetic", "--steps", "2", "--run-dir", dir]
        for (flags, message) in [(["--weight-decay", "inf"], "--weight-decay must be 0 or more (got inf)"),
                                 (["--optimizer", "adam", "--eps", "inf"], "--eps must be positive (got inf)"),
                                 (["--warmup-start-lr", "inf", "--warmup-epochs", "0.02"], "--warmup-start-lr must be positive (got inf)")] {
            _ = try expectRefusal(base + flags, mentioning: message, status: 64)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
    }

    /// A path given as "" (`--run-dir "$DIR"` with DIR unset) was named as nothing ("cannot create
    /// run folder : ..."), and bench's --out "" timed every batch to then say it "already exists".
    func testEmptyPathsAreNamed() throws {
        for (arguments, flag) in [(["train", "--data", "synthetic", "--run-dir", ""], "--run-dir"), (["train", "--data", ""], "--data"),
                                  (["train", "--resume", ""], "--resume"), (["sweep", "--data", "synthetic", "--out", ""], "--out"),
                                  (["bench", "--data", "synthetic", "--out", ""], "--out"), (["report", ""], "the folder to report on"),
                                  (["train", "--config", ""], "--config")] {
            let outcome = try expectRefusal(arguments, mentioning: "\(flag) is an empty path", status: 64)
            XCTAssertEqual(outcome.errorLines, ["Error: \(flag) is an empty path"], outcome.all)
        }
    }

    /// bench and netbench find an --out they cannot write before timing: it used to be found after
    /// every batch was timed, the figures then only on the console.
    func testBenchOutInAMissingFolderIsRefusedBeforeTiming() throws {
        let missing = DDPProcess.temporaryFolder("hostile-bench") + "/figures.json"
        for command in ["bench", "netbench"] {
            let outcome = try expectRefusal([command, "--data", "synthetic", "--batches", "32", "--steps", "5", "--out", missing],
                                            mentioning: "--out \(missing): \((missing as NSString).deletingLastPathComponent) is not an existing folder", status: 64)
            XCTAssertFalse(outcome.stdout.contains("samples/s"), outcome.stdout)
        }
    }

    /// --auto-resume in a folder whose sweep.json is no sweep plan said "no readable sweep.json there
    /// (The data is missing.)" of a file it had read.
    func testAutoResumeNamesASweepJSONThatIsNoPlan() throws {
        let folder = DDPProcess.temporaryFolder("hostile-auto-sweep")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("{\"x\": 1}\n".utf8).write(to: URL(fileURLWithPath: folder + "/sweep.json"))
        let outcome = try expectRefusal(["sweep", "--data", "synthetic", "--global-batch", "64", "--rules", "none", "--budget", "steps:1", "--auto-resume", "--out", folder],
                                        mentioning: "error: cannot resume \(folder): its sweep.json is not a sweep plan this ddp reads (", status: 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["sweep.json"], outcome.all)
    }

    /// report and --version are one process's work: under mpirun rank 0 alone does it, once.
    func testReportAndVersionUnderMpirunRunOnce() throws {
        let dir = DDPProcess.temporaryFolder("hostile-report")
        XCTAssertEqual(try DDPProcess.run(["train", "--data", "synthetic", "--steps", "3", "--run-dir", dir], ranks: 2).status, 0)
        for _ in 0..<3 {
            try? FileManager.default.removeItem(atPath: dir + "/report.html")
            let report = try DDPProcess.run(["report", dir], ranks: 2)
            XCTAssertEqual(report.status, 0, report.all)
            XCTAssertEqual(report.errorLines, [], report.all)
            XCTAssertEqual(report.stdout.components(separatedBy: "report.html").count - 1, 1, report.stdout)
        }
        _ = try expectRefusal(["report", dir, "--output", dir], mentioning: "\(dir) is a folder; --output takes the file to write")
        let version = try DDPProcess.run(["--version"], ranks: 2)
        XCTAssertEqual(version.stdout.split(separator: "\n").filter { $0.hasPrefix("ddp ") }.count, 1, version.stdout)
    }
}
