// Issue 14 through the built executable: inputs that used to be accepted and silently computed
// something else are refused with one true line, results never measured are null, and what the
// tool says about itself (--version, exit codes, the progress line) is true.
import Data
import Foundation
import TestSupport
import XCTest

final class InputHardeningTests: XCTestCase {
    func testBatchLargerThanTheSetAndEmptySetsAreRefused() throws {
        let dir = DDPProcess.temporaryFolder("hardening-batch")
        _ = try expectRefusal(["train", "--data", "synthetic", "--global-batch", "1000000", "--run-dir", dir],
                              mentioning: "global batch 1000000 is larger than the 4096 training samples (full-batch training is --global-batch 4096)",
                              status: 1)
        // Reached through --batch-per-rank too: 2 x 4000 = 8000.
        _ = try expectRefusal(["train", "--data", "synthetic", "--batch-per-rank", "4000", "--run-dir", dir],
                              mentioning: "global batch 8000 is larger than the 4096 training samples")
        let noTest = IDXFolder()
        noTest.writeDataset(train: 16, test: 0)
        _ = try expectRefusal(["train", "--data", noTest.path, "--run-dir", dir],
                              mentioning: "the data has 16 training and 0 test samples: both sets need at least one")
        let noTrain = IDXFolder()
        noTrain.writeDataset(train: 0, test: 4)
        _ = try expectRefusal(["train", "--data", noTrain.path, "--run-dir", dir], mentioning: "the data has 0 training and 4 test samples")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "no run folder for a refused run")
    }

    func testFlagsThatWouldBeIgnoredAreRefused() throws {
        let dir = DDPProcess.temporaryFolder("hardening-ignored")
        let base = ["train", "--data", "synthetic", "--run-dir", dir]
        _ = try expectRefusal(base + ["--model", "cnn", "--hidden", "64"], mentioning: "--hidden sets the widths of --model mlp only", status: 64)
        // 4096 / 64 = 64 steps an epoch, 2 epochs.
        _ = try expectRefusal(base + ["--epochs", "2", "--batch-per-rank", "32", "--decay", "step", "--decay-epochs", "1,3"],
                              mentioning: "--decay-epochs 3.0 is not before the end of training (2 epochs)")
        // A decay inside the warmup (2 ranks x 32: 64 steps an epoch): the default 50% of 4 epochs, and a given 0.5.
        _ = try expectRefusal(base + ["--epochs", "4", "--batch-per-rank", "32", "--warmup-epochs", "3", "--decay", "step"],
                              mentioning: "step decay at epoch 2 (step 128) (the default decay epochs: 50% and 75% of training) falls inside the warmup of 192 steps")
        _ = try expectRefusal(base + ["--epochs", "4", "--batch-per-rank", "32", "--warmup-epochs", "1", "--decay", "step", "--decay-epochs", "0.5,2"],
                              mentioning: "step decay at epoch 0.5 (step 32) falls inside the warmup of 64 steps")
        // A box below Float's epsilon rounds away in the weights: its figure would be 0, never measured.
        _ = try expectRefusal(base + ["--sharpness", "1e-9"], mentioning: "--sharpness is a box size relative to each weight, in [1.1920929e-07, 1]", status: 64)
        _ = try expectRefusal(base + ["--epochs", "2", "--decay", "cosine", "--decay-epochs", "1"],
                              mentioning: "--decay-epochs applies only to --decay step (this run uses cosine)")
        _ = try expectRefusal(base + ["--steps", "10", "--trace-steps", "500:600"],
                              mentioning: "--trace-steps 500:600 starts after the last step (10)")
        _ = try expectRefusal(base + ["--sharpness-steps", "5"], mentioning: "--sharpness-samples and --sharpness-steps need --sharpness", status: 64)
        _ = try expectRefusal(base + ["--bucket-kb", "64"], mentioning: "--bucket-kb sets the buckets of --overlap", status: 64)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
    }

    func testAMistypedConvolutionSwitchIsRefusedNotTimedAsTheDefault() throws {
        let dir = DDPProcess.temporaryFolder("hardening-conv-switch")
        let refused = try expectRefusal(["train", "--data", "synthetic", "--model", "cnn", "--steps", "2", "--run-dir", dir],
                                        environment: ["DDP_CONV": "imcol"],
                                        mentioning: "DDP_CONV=imcol is not one of: direct, unfused, no-winograd, winograd-sgemm, im2col (direct is the default)", status: 64)
        XCTAssertEqual(refused.all.split(separator: "\n").filter { !$0.isEmpty }.count, 1, "one line, no usage text: \(refused.all)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
        // Help does not build a model: it answers whatever DDP_CONV says.
        let help = try DDPProcess.run(["train", "--help"], ranks: nil, environment: ["DDP_CONV": "imcol"])
        XCTAssertEqual(help.status, 0, help.all)
        XCTAssertTrue(help.all.contains("--batch-per-rank"), help.all)
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--model", "cnn", "--steps", "2", "--run-dir", dir],
                                         ranks: 2, environment: ["DDP_CONV": "im2col"])
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let config = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("im2col (DDP_CONV=im2col)"), "the run records the path it took: \(config)")
    }

    func testSizesBeyondThisMachineAreOneErrorNotACrash() throws {
        let dir = DDPProcess.temporaryFolder("hardening-memory")
        let base = ["train", "--run-dir", dir]
        _ = try expectRefusal(base + ["--data", "synthetic", "--hidden", "100000000000"],
                              mentioning: "the model (7.95e+13 parameters) needs about 1.91e+06 GB per rank; this machine has")
        _ = try expectRefusal(base + ["--data", "synthetic-binary:100000000000x10"], mentioning: "GB per rank; this machine has")
        // Checked before the layers are built: a convolution makes its im2col columns when built, and
        // a count near Int.max used to trap in the geometry's arithmetic.
        _ = try expectRefusal(base + ["--data", "synthetic", "--model", "conv1k100000same-fc10"], mentioning: "GB of im2col columns")
        _ = try expectRefusal(base + ["--data", "synthetic", "--model", "conv4611686018427387904k3-fc10"], mentioning: "GB per rank")
        // The subspace of the sharpness measurement is made after training: checked before it.
        _ = try expectRefusal(base + ["--data", "synthetic", "--hidden", "1000", "--sharpness", "1e-3", "--sharpness-subspace", "700000"],
                              mentioning: "--sharpness-subspace 700000 (its 795010 x 700000 matrix and 700000 x 700000 Gram matrix) needs about 5.9")
        // A trace window far beyond the run is sized by the run's steps, not by the window.
        let ok = try DDPProcess.run(base + ["--data", "synthetic", "--steps", "3", "--trace-steps", "2:100000000000"], ranks: 2)
        XCTAssertEqual(ok.status, 0, ok.all)
        let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/trace.json"))) as? [String: Any]
        let steps = Set((trace?["traceEvents"] as? [[String: Any]] ?? []).compactMap { ($0["args"] as? [String: Any])?["step"] as? Int })
        XCTAssertEqual(steps, [2, 3], "steps 2 and 3 traced")
    }

    func testARunStoppedBeforeEvaluatingHasNullResultsAndTheReportSaysSo() throws {
        let dir = DDPProcess.temporaryFolder("hardening-null")
        // lr 1e6 makes step 2's loss ten times the first: diverged before the first evaluation.
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--lr", "1e6", "--steps", "5", "--run-dir", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 1, outcome.all)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
        let summary = try DDPProcess.json(dir + "/summary.json")
        for key in ["test_acc", "train_acc", "gap", "test_loss", "train_loss", "loss_gap", "best_test_acc"] {
            XCTAssertTrue(summary[key] is NSNull, "\(key): \(String(describing: summary[key]))")
        }
        XCTAssertEqual(summary["diverged"] as? Bool, true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/metrics.csv"), "nothing evaluated, no metrics rows")
        let report = try DDPProcess.run(["report", dir])
        XCTAssertEqual(report.status, 0, report.all)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<dt>test accuracy</dt><dd>not measured</dd>"), html)
        XCTAssertTrue(html.contains("<dt>train loss</dt><dd>not measured</dd>"))
        XCTAssertFalse(html.contains("<dt>best test accuracy</dt><dd>0"))
    }

    func testOneEvaluationIsDrawnAndWaitIsOneNumberEverywhere() throws {
        let dir = DDPProcess.temporaryFolder("hardening-one-eval")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "6", "--run-dir", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertEqual(try DDPProcess.run(["report", dir]).status, 0)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        // One evaluation: train and test, in the accuracy and the loss chart, each a visible dot at epoch 6/64.
        let dots = html.components(separatedBy: "data-role=\"lone-point\"").dropFirst()
        XCTAssertEqual(dots.count, 4, html)
        XCTAssertTrue(dots.allSatisfy { $0.hasPrefix(" data-series=") && $0.contains("data-x=\"0.094\"") },
                      "at epoch 6/64 (rounded as metrics.csv writes it)")

        // "waited": the console's line, imbalance.csv and the report's table give the same seconds.
        let imbalance = try String(contentsOfFile: dir + "/imbalance.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",") }
        // The report's timing table: rank | host | compute s | allreduce s | wait s | evaluation s.
        let table = try XCTUnwrap(html.components(separatedBy: "<th>wait s</th>").dropFirst().first?.components(separatedBy: "</table>").first)
        let cell = try NSRegularExpression(pattern: "<td[^>]*>([^<]*)</td>")
        let rows = table.components(separatedBy: "</tr>").map { row in
            cell.matches(in: row, range: NSRange(row.startIndex..., in: row)).map { String(row[Range($0.range(at: 1), in: row)!]) }
        }.filter { $0.count == 6 }
        XCTAssertEqual(rows.count, 2, table)
        for row in imbalance {
            let (rank, wait) = (String(row[0]), Double(row[2])!)
            XCTAssertTrue(outcome.stdout.contains("rank \(rank) \(String(format: "%.3f", wait)) s (last to arrive"), outcome.stdout)
            let shown = try XCTUnwrap(rows.first { $0[0] == rank })
            XCTAssertEqual(Double(shown[4]) ?? -1, wait, accuracy: wait * 5e-4 + 1e-9, "4 significant digits of imbalance.csv's value")
        }
    }

    func testDuplicateGridPointsAreRefusedBeforeTraining() throws {
        let dir = DDPProcess.temporaryFolder("hardening-duplicate")
        _ = try expectRefusal(["sweep", "--data", "synthetic", "--global-batch", "64,64", "--rules", "none", "--out", dir],
                              mentioning: "the grid holds b00064-none-s1 twice", status: 64)
        _ = try expectRefusal(["sweep", "--data", "synthetic", "--global-batch", "64", "--rules", "lars,lars+linear+warmup", "--out", dir],
                              mentioning: "the grid holds b00064-lars+linear+warmup-s1 twice")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
    }

    func testSweepResumeRefusesFlagsThatContradictItButTakesAnotherRankCount() throws {
        let dir = DDPProcess.temporaryFolder("hardening-resume")
        let grid = ["sweep", "--data", "synthetic", "--global-batch", "64", "--rules", "none", "--budget", "steps:3", "--lr", "0.05"]
        XCTAssertEqual(try DDPProcess.run(grid + ["--out", dir], ranks: 2).status, 0)
        let results = try String(contentsOfFile: dir + "/results.csv", encoding: .utf8)

        let changed = try expectRefusal(["sweep", "--resume", dir, "--global-batch", "128", "--lr", "0.05", "--momentum=0.5"],
                                        mentioning: "--global-batch, --momentum differ from the sweep in \(dir)", status: 1)
        XCTAssertFalse(changed.all.contains("--lr,"), "--lr was given with the sweep's own value")
        // Another rank count that divides the sweep's batches continues it (elastic resume): nothing finished is redone.
        let otherRanks = try DDPProcess.run(["sweep", "--resume", dir], ranks: 1)
        XCTAssertEqual(otherRanks.status, 0, otherRanks.all)
        XCTAssertEqual(try String(contentsOfFile: dir + "/results.csv", encoding: .utf8), results, "nothing re-run on another rank count")
        // The same flags again (a script that adds --resume) are fine; launch-only flags too.
        let same = try DDPProcess.run(grid + ["--resume", dir, "--blas-threads", "1"], ranks: 2)
        XCTAssertEqual(same.status, 0, same.all)
        XCTAssertEqual(try String(contentsOfFile: dir + "/results.csv", encoding: .utf8), results, "nothing re-run or re-written")
    }

    func testUsageErrorsExit64WithTheErrorFirstAndVersionNamesTheBuild() throws {
        let bogus = try DDPProcess.run(["train", "--bogus"])
        XCTAssertEqual(bogus.status, 64, "EX_USAGE, as README says")
        XCTAssertTrue(bogus.stderr.hasPrefix("Error: Unknown option '--bogus'"), bogus.stderr)

        let version = try DDPProcess.run(["--version"])
        XCTAssertEqual(version.status, 0, version.all)
        let lines = version.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("ddp "), version.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("MPI      Open MPI v") }, version.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("OpenBLAS OpenBLAS 0.") }, version.stdout)
        // Built from this clone: the commit is the clone's.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let head = try DDPProcess.capture("/usr/bin/env", ["git", "-C", source, "rev-parse", "--short=12", "HEAD"])
        if head.status == 0 {
            XCTAssertTrue(lines[0].contains("(commit \(head.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"), version.stdout)
        }
        let dir = DDPProcess.temporaryFolder("hardening-version")
        XCTAssertEqual(try DDPProcess.run(["train", "--data", "synthetic", "--steps", "1", "--run-dir", dir], ranks: 2).status, 0)
        let build = try XCTUnwrap(try DDPProcess.json(dir + "/config.json")["build"] as? [String: Any])
        XCTAssertEqual("ddp \(build["version"] as? String ?? "?")" + ((build["git_commit"] as? String).map { " (commit \($0))" } ?? ""), lines[0])
        XCTAssertEqual(build["mpi_library"] as? String, String(lines[1].dropFirst("MPI      ".count)))
    }

    /// The progress line (`\r`, ESC[2K) only when mpirun's own output is a terminal, whatever rank 0's is.
    func testProgressLineOnlyWhenMpirunWritesToATerminal() throws {
        guard let mpirun = DDPProcess.mpirun else { throw XCTSkip("mpirun is not installed") }
        // CI unset (the default would otherwise be off anyway); 128 steps an epoch, slow enough for a progress update.
        var launch = ["-u", "CI", mpirun, "-np", "2", "--quiet", "--oversubscribe", "--bind-to", "none",
                      "-x", "OPENBLAS_NUM_THREADS", "-x", "SWIFT_BACKTRACE"]
        if getuid() == 0 { launch.append("--allow-run-as-root") }
        let train = [DDPProcess.executable, "train", "--data", "synthetic", "--epochs", "2", "--batch-per-rank", "16"]
        let piped = try DDPProcess.capture("/usr/bin/env", launch + train + ["--run-dir", DDPProcess.temporaryFolder("progress-pipe")])
        XCTAssertEqual(piped.status, 0, piped.all)
        XCTAssertFalse(piped.stdout.contains("\r") || piped.stdout.contains("\u{1B}"), "no control characters in a pipe")
        XCTAssertEqual(piped.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count, 2, "one line per epoch")

        // The same launch with mpirun's stdout on a terminal (script(1) makes one) shows the live line.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) is missing") }
        let command = (["/usr/bin/env"] + launch + train + ["--run-dir", DDPProcess.temporaryFolder("progress-tty")])
            .map { "'\($0)'" }.joined(separator: " ")
        let terminal = try DDPProcess.capture("/usr/bin/script", ["-qec", command, "/dev/null"])
        XCTAssertEqual(terminal.status, 0, terminal.all)
        XCTAssertTrue(terminal.stdout.contains("\r\u{1B}[2K"), "the live line is cleared before each result line")
    }
}

extension XCTestCase {
    /// One `error:` line containing `text`, exit status `status` (any non-zero when nil).
    func expectRefusal(_ arguments: [String], ranks: Int? = 2, environment: [String: String] = [:], mentioning text: String,
                       status: Int32? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let outcome = try DDPProcess.run(arguments, ranks: ranks, environment: environment)
        if let status { XCTAssertEqual(outcome.status, status, outcome.all, file: file, line: line) }
        XCTAssertNotEqual(outcome.status, 0, outcome.all, file: file, line: line)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all, file: file, line: line)
        XCTAssertTrue(outcome.errorLines.first?.contains(text) ?? false, outcome.all, file: file, line: line)
        return outcome
    }
}
