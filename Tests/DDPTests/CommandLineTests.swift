// `ddp train` as a user runs it: a good run leaves a complete run folder; each bad input ends
// every rank non-zero with exactly one error line, and overwrites nothing.
import Data
import Foundation
import TestSupport
import XCTest

final class CommandLineTests: XCTestCase {
    func testGoodRunLeavesACompleteRunFolder() throws {
        let dir = DDPProcess.temporaryFolder("good")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--epochs", "2", "--batch-per-rank", "64",
                                          "--lr-scaling", "linear", "--warmup-epochs", "0.5", "--run-dir", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertEqual(outcome.stdout.components(separatedBy: "swift-ddp train: 2 rank(s)").count, 2, "rank 0 alone prints the header")
        XCTAssertTrue(outcome.stdout.contains("epoch 2/2"), outcome.stdout)
        XCTAssertTrue(outcome.stdout.contains("straggler: rank"), outcome.stdout)

        for file in ["config.json", "metrics.csv", "steps.csv", "timing.csv", "model.safetensors", "summary.json", "checkpoint.ddp"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file), file)
        }
        let metrics = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.count, 3)
        XCTAssertTrue(metrics[0].hasPrefix("epoch,step,lr,train_loss,train_acc,test_loss,test_acc,gap,"), String(metrics[0]))

        // 4096 samples / global 128 = 32 steps per epoch; linear scaling 128/64 doubles lr 0.01;
        // warmup of 16 steps ramps from 0.01 to 0.02 per step.
        let steps = try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(steps.count, 64)
        let rates = steps.map { Double($0.split(separator: ",")[2])! }
        XCTAssertEqual(rates[0], 0.01, accuracy: 1e-7)
        XCTAssertEqual(rates[8], 0.015, accuracy: 1e-7)
        XCTAssertEqual(rates[16], 0.02, accuracy: 1e-7)
        XCTAssertEqual(rates[63], 0.02, accuracy: 1e-7)

        let summary = try DDPProcess.json(dir + "/summary.json")
        XCTAssertEqual(summary["ranks"] as? Int, 2)
        XCTAssertEqual(summary["global_batch"] as? Int, 128)
        XCTAssertEqual(summary["steps"] as? Int, 64)
        let trainAcc = summary["train_acc"] as! Double, testAcc = summary["test_acc"] as! Double
        XCTAssertEqual(summary["gap"] as! Double, trainAcc - testAcc, accuracy: 1e-12)
        XCTAssertGreaterThan(testAcc, 0.3, "learned the synthetic classes (chance is 0.1)")

        let timing = try String(contentsOfFile: dir + "/timing.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(timing[0], "rank,host,epoch,phase,total_seconds,mean_per_step,max_per_step")
        XCTAssertEqual(timing.count, 1 + 2 * 2 * 7, "2 ranks x 2 epochs x 7 phases (evaluation and checkpoint included)")
        XCTAssertEqual(Set(timing.dropFirst().map { $0.split(separator: ",")[0] }), ["0", "1"])

        let config = try DDPProcess.json(dir + "/config.json")
        XCTAssertEqual((config["config"] as? [String: Any])?["global_batch"] as? Int, 128)
    }

    /// One error line naming the problem, non-zero exit, under 2 ranks.
    func expectFailure(_ arguments: [String], mentioning text: String, ranks: Int = 2,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try DDPProcess.run(["train"] + arguments, ranks: ranks)
        XCTAssertNotEqual(outcome.status, 0, outcome.all, file: file, line: line)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all, file: file, line: line)
        XCTAssertTrue(outcome.errorLines.first?.contains(text) ?? false, outcome.all, file: file, line: line)
    }

    func testBadFlagsGiveOneMessageAndNonZeroExit() throws {
        let dir = DDPProcess.temporaryFolder("flags")
        let base = ["--data", "synthetic", "--run-dir", dir]
        try expectFailure(base + ["--batch-per-rank", "0"], mentioning: "--batch-per-rank must be at least 1")
        try expectFailure(base + ["--lr", "0"], mentioning: "--lr must be positive")
        try expectFailure(base + ["--lr=-0.1"], mentioning: "--lr must be positive")
        try expectFailure(base + ["--accumulate", "0"], mentioning: "--accumulate must be at least 1")
        try expectFailure(base + ["--momentum", "1"], mentioning: "--momentum must be in [0, 1)")
        try expectFailure(base + ["--epochs", "1", "--warmup-epochs", "3"], mentioning: "longer than training")
        try expectFailure(base + ["--global-batch", "101"], mentioning: "not divisible by the 2 ranks")
        try expectFailure(base + ["--model", "conv32k3-blob-fc10"], mentioning: "unknown model spec token 'blob'")
        try expectFailure(base + ["--bogus"], mentioning: "Unknown option '--bogus'")
        try expectFailure(base + ["--lr-scaling", "cubic"], mentioning: "cubic")
        try expectFailure(base + ["--checkpoint-every=-1"], mentioning: "--checkpoint-every must be 0")
        try expectFailure(base + ["--collective-timeout=-5"], mentioning: "--collective-timeout must be 0")
        try expectFailure(base + ["--on-nan", "ignore"], mentioning: "ignore")
        // An empty item is a typo, not a shorter list (it built fc64-fc32-fc10 without a word).
        try expectFailure(base + ["--hidden", "64,,32"], mentioning: "'64,,32' is not a comma-separated list of numbers")
        try expectFailure(base + ["--hidden", "64,"], mentioning: "'64,' is not a comma-separated list of numbers")
        // A setting the optimizer does not use, and values the optimizers' Float turns into 0 or 1.
        try expectFailure(base + ["--optimizer", "adam", "--momentum", "0.5"], mentioning: "--momentum 0.5 applies to sgd and lars only, not to adam")
        try expectFailure(base + ["--lr", "1e-50"], mentioning: "--lr 1e-50 is 0.0 in single precision")
        try expectFailure(base + ["--optimizer", "adam", "--beta2", "0.99999999"], mentioning: "--beta2 0.99999999 is 1.0 in single precision")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "no run folder for a refused run")
    }

    func testBadDataGivesOneMessageFromOneRank() throws {
        try expectFailure(["--data", "/nonexistent/fashion"], mentioning: "data folder /nonexistent/fashion does not exist")

        let corrupt = IDXFolder()
        corrupt.writeDataset(train: 8, test: 4)
        corrupt.write("train-images-idx3-ubyte", [0x50, 0x4B, 3, 4, 1, 2, 3])
        try expectFailure(["--data", corrupt.path], mentioning: "is not an IDX file")

        let truncated = IDXFolder()
        truncated.writeDataset(train: 8, test: 4)
        let images = try Data(contentsOf: URL(fileURLWithPath: truncated.file("t10k-images-idx3-ubyte")))
        truncated.write("t10k-images-idx3-ubyte", Array(images.dropLast(5)))
        try expectFailure(["--data", truncated.path], mentioning: "is truncated")

        let badLabel = IDXFolder()
        badLabel.writeDataset(train: 8, test: 4)
        // The classes are the training labels' (at least 10): a test label beyond them is refused.
        badLabel.write("t10k-labels-idx1-ubyte", IDX.encode(IDXArray(dimensions: [4], bytes: [0, 1, 12, 3])))
        try expectFailure(["--data", badLabel.path], mentioning: "label 12 at index 2 is outside 0-9")
        // EMNIST balanced's 47 classes (DESIGN.md: its MNIST-format files work): the model ends in fc47.
        let emnist = IDXFolder()
        emnist.writeDataset(train: 94, test: 47, classes: 47)
        let emnistRun = try DDPProcess.run(["train", "--data", emnist.path, "--steps", "2", "--batch-per-rank", "8",
                                            "--run-dir", DDPProcess.temporaryFolder("emnist")], ranks: 2)
        XCTAssertEqual(emnistRun.status, 0, emnistRun.all)
        XCTAssertTrue(emnistRun.stdout.contains("[1, 4, 4] x 47 classes") && emnistRun.stdout.contains("fc128-fc47"), emnistRun.stdout)

        let notGzip = IDXFolder()
        notGzip.writeDataset(train: 8, test: 4)
        try FileManager.default.moveItem(atPath: notGzip.file("train-labels-idx1-ubyte"), toPath: notGzip.file("train-labels-idx1-ubyte.gz"))
        try expectFailure(["--data", notGzip.path], mentioning: "ends in .gz but is not a gzip file")

        let empty = IDXFolder()
        empty.writeDataset(train: 8, test: 4)
        empty.write("t10k-labels-idx1-ubyte", [])
        try expectFailure(["--data", empty.path], mentioning: "is empty")

        let mismatch = IDXFolder()
        mismatch.writeDataset(train: 8, test: 4)
        mismatch.write("train-labels-idx1-ubyte", IDX.encode(IDXArray(dimensions: [7], bytes: [0, 1, 2, 3, 4, 5, 6])))
        try expectFailure(["--data", mismatch.path], mentioning: "7")

        let tiny = IDXFolder()
        tiny.writeDataset(train: 1, test: 1)
        try expectFailure(["--data", tiny.path, "--run-dir", DDPProcess.temporaryFolder("tiny")],
                          mentioning: "2 ranks but only 1 training samples")
    }

    func testAFullDiskIsOneErrorAndNoHang() throws {
        // A 256 KB tmpfs: config.json and the first rows fit, the 800 KB checkpoint does not.
        let mountPoint = DDPProcess.temporaryFolder("full")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint]
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("cannot mount a small tmpfs here (needs root and mount rights)") }
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [mountPoint]
            try? umount.run()
            umount.waitUntilExit()
        }
        try expectFailure(["--data", "synthetic", "--steps", "40", "--checkpoint-every", "10", "--run-dir", mountPoint + "/run"],
                          mentioning: "No space left on device")
    }

    func testExistingRunFolderIsNeverOverwritten() throws {
        let dir = DDPProcess.temporaryFolder("existing")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: dir + "/metrics.csv"))
        try expectFailure(["--data", "synthetic", "--steps", "2", "--run-dir", dir], mentioning: "already holds files")
        XCTAssertEqual(try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8), "precious")
    }

    func testFashionMNISTReachesTheBenchmarkMLPAccuracyInFiveEpochs() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("dataset-fashion-mnist is not installed (launch/setup.sh installs it)")
        }
        let dir = DDPProcess.temporaryFolder("fashion")
        let outcome = try DDPProcess.run(["train", "--epochs", "5", "--run-dir", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let summary = try DDPProcess.json(dir + "/summary.json")
        XCTAssertGreaterThanOrEqual(summary["test_acc"] as! Double, 0.87, outcome.stdout)
        XCTAssertEqual(summary["steps"] as? Int, 5 * 938)
    }
}
