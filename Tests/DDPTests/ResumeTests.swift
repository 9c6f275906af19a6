// Nothing lost: a rank killed mid-run ends the job at once, and the run resumed from its last
// checkpoint ends with the same parameters, bit for bit, as the run that was never interrupted,
// with metrics.csv and steps.csv continuing without a duplicate row. Damaged checkpoints are
// one clear error.
import Foundation
import XCTest

final class ResumeTests: XCTestCase {
    // 4096 synthetic samples / (2 ranks x 64) = 32 steps an epoch; checkpoints every 10 steps and
    // at epoch ends; evaluations twice an epoch.
    let flags = ["--data", "synthetic", "--steps", "100", "--batch-per-rank", "64", "--checkpoint-every", "10",
                 "--evals-per-epoch", "2", "--optimizer", "adam"]

    func rows(_ path: String) throws -> [[String]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func testKilledRankEndsTheJobAndResumeMatchesTheUninterruptedRun() throws {
        let whole = DDPProcess.temporaryFolder("whole"), cut = DDPProcess.temporaryFolder("cut")
        let started = Date()
        let uninterrupted = try DDPProcess.run(["train"] + flags + ["--run-dir", whole], ranks: 2)
        XCTAssertEqual(uninterrupted.status, 0, uninterrupted.all)
        let wholeRun = Date().timeIntervalSince(started)

        // Rank 1 SIGKILLs itself after step 45: the last checkpoint is step 40's. mpirun ends the job
        // and passes the signal on (128 + 9); had it left rank 0 waiting, only the watchdog's
        // timeout would end it, with its own message. The bound: the whole run plus that timeout.
        let timeout = 60.0
        let start = Date()
        let killed = try DDPProcess.run(["train"] + flags + ["--run-dir", cut, "--collective-timeout", String(timeout)],
                                        ranks: 2, environment: ["DDP_FAULT": "kill:45:1"])
        XCTAssertEqual(killed.status, 137, killed.all)
        XCTAssertFalse(killed.all.contains("did not arrive"), "mpirun, not the watchdog, ended the job: \(killed.all)")
        XCTAssertLessThan(Date().timeIntervalSince(start), wholeRun + timeout, "the job ends before the watchdog would end it")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cut + "/summary.json"))
        // A second launch killed before its first checkpoint: the next one is again launch 2, and
        // launches.csv holds one row per launch number.
        let again = try DDPProcess.run(["train", "--resume", cut], ranks: 2, environment: ["DDP_FAULT": "kill:45:1"])
        XCTAssertEqual(again.status, 137, again.all)

        try resumeToTheSameParameters(cut, ranks: 2, at: "epoch 2, step 40", as: whole)
        XCTAssertEqual(try rows(cut + "/launches.csv").map { $0.prefix(2) }, [["1", "0"], ["2", "40"]])

        let a = try DDPProcess.json(whole + "/summary.json"), b = try DDPProcess.json(cut + "/summary.json")
        XCTAssertEqual(b["test_acc"] as? Double, a["test_acc"] as? Double)
        XCTAssertEqual(b["gns"] as? Double, a["gns"] as? Double, "the noise-scale EMA is part of the checkpoint")

        // Every step once, and the metrics rows equal but for the timing columns.
        XCTAssertEqual(try rows(cut + "/steps.csv").map { $0[0] }, (1...100).map(String.init))
        XCTAssertEqual(try rows(cut + "/steps.csv").map { $0[3] }, try rows(whole + "/steps.csv").map { $0[3] }, "losses")
        let timing = 10  // samples_per_sec, seconds follow it
        XCTAssertEqual(try rows(cut + "/metrics.csv").map { Array($0.prefix(timing)) },
                       try rows(whole + "/metrics.csv").map { Array($0.prefix(timing)) })
    }

    func testAWriterKilledMidCheckpointLeavesThePreviousOneLoadable() throws {
        let whole = DDPProcess.temporaryFolder("whole"), torn = DDPProcess.temporaryFolder("torn")
        XCTAssertEqual(try DDPProcess.run(["train"] + flags + ["--run-dir", whole], ranks: 2).status, 0)
        // Rank 0 dies halfway through writing step 50's checkpoint: step 40's must survive whole.
        let killed = try DDPProcess.run(["train"] + flags + ["--run-dir", torn], ranks: 2, environment: ["DDP_FAULT": "torn:50:0"])
        XCTAssertNotEqual(killed.status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: torn + "/checkpoint.ddp.tmp"), "the torn write was real")
        try resumeToTheSameParameters(torn, ranks: 2, at: "epoch 2, step 40", as: whole)
    }

    func testNaNStopsNamingStepAndRankOrIsSkipped() throws {
        let stop = DDPProcess.temporaryFolder("nan-stop"), skip = DDPProcess.temporaryFolder("nan-skip")
        let common = ["train", "--data", "synthetic", "--steps", "60", "--checkpoint-every", "10"]
        let stopped = try DDPProcess.run(common + ["--run-dir", stop], ranks: 2, environment: ["DDP_FAULT": "nan:30:1"])
        XCTAssertNotEqual(stopped.status, 0)
        XCTAssertEqual(stopped.errorLines.count, 1, stopped.all)
        XCTAssertTrue(stopped.errorLines[0].contains("at step 30 on rank 1"), stopped.all)
        // The update was not applied, so the last checkpoint (step 20) and the weights are finite: it resumes.
        try FileManager.default.removeItem(atPath: stop + "/summary.json")
        let resumed = try DDPProcess.run(["train", "--resume", stop], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("step 20"), resumed.stdout)

        let skipped = try DDPProcess.run(common + ["--on-nan", "skip", "--run-dir", skip], ranks: 2, environment: ["DDP_FAULT": "nan:30:1"])
        XCTAssertEqual(skipped.status, 0, skipped.all)
        let summary = try DDPProcess.json(skip + "/summary.json")
        XCTAssertEqual(summary["skipped_steps"] as? Int, 1)
        XCTAssertEqual(summary["steps"] as? Int, 60)
        XCTAssertEqual(try rows(skip + "/metrics.csv").last?[12], "1", "skipped steps are counted in metrics.csv")
    }

    func testResumeRefusesAFinishedRun() throws {
        let dir = DDPProcess.temporaryFolder("finished")
        XCTAssertEqual(try DDPProcess.run(["train", "--data", "synthetic", "--steps", "40", "--run-dir", dir], ranks: 2).status, 0)
        let finished = try DDPProcess.run(["train", "--resume", dir], ranks: 2)
        XCTAssertNotEqual(finished.status, 0)
        XCTAssertEqual(finished.errorLines.count, 1, finished.all)
        XCTAssertTrue(finished.all.contains("already finished"), finished.all)
    }

    func testDamagedCheckpointsAreOneClearError() throws {
        let dir = DDPProcess.temporaryFolder("damaged")
        XCTAssertEqual(try DDPProcess.run(["train", "--data", "synthetic", "--steps", "40", "--run-dir", dir], ranks: 2).status, 0)
        try FileManager.default.removeItem(atPath: dir + "/summary.json")
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/checkpoint.ddp"))
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        let cases: [(String, Data, String)] = [
            ("truncated", good.prefix(good.count - 100), "corrupt or truncated"),
            ("flipped", flipped, "corrupt or truncated"),
            ("foreign", Data("model weights, honestly".utf8), "not a swift-ddp checkpoint"),
            ("empty", Data(), "not a swift-ddp checkpoint"),
        ]
        for (name, bytes, message) in cases {
            try bytes.write(to: URL(fileURLWithPath: dir + "/checkpoint.ddp"))
            let outcome = try DDPProcess.run(["train", "--resume", dir], ranks: 2)
            XCTAssertNotEqual(outcome.status, 0, name)
            XCTAssertEqual(outcome.errorLines.count, 1, "\(name): \(outcome.all)")
            XCTAssertTrue(outcome.all.contains(message), "\(name): \(outcome.all)")
        }
        let missing = try DDPProcess.run(["train", "--resume", dir + "/nothing-here"], ranks: 2)
        XCTAssertEqual(missing.errorLines.count, 1, missing.all)
        XCTAssertTrue(missing.all.contains("cannot read checkpoint"), missing.all)
    }
}

final class WatchdogTests: XCTestCase {
    func testAStalledRankIsNamedAndTheJobEndsWithinTheTimeout() throws {
        // Rank 1 SIGSTOPs itself after step 20: rank 0 waits in the allreduce of step 21. Without the
        // watchdog the job would never end; with it, it ends the timeout after the stall. The bound
        // is liveness only: ten timeouts plus a minute of start-up and 20 steps on a loaded machine.
        let timeout = 3.0
        let start = Date()
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "60", "--collective-timeout", String(timeout),
                                          "--run-dir", DDPProcess.temporaryFolder("stall")],
                                         ranks: 2, environment: ["DDP_FAULT": "stop:20:1"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 10 * timeout + 60, "the watchdog ends the job")
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
        let line = outcome.errorLines.first ?? ""
        XCTAssertTrue(line.contains("MPI_Allreduce in a training step (step 21)"), line)
        XCTAssertTrue(line.contains("rank(s) 1 did not arrive"), line)
    }
}

final class LauncherTests: XCTestCase {
    /// launch/local.sh, as users run it, with the ddp this test bundle was built with.
    func local(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("launch/local.sh").path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["DDP": DDPProcess.executable, "CI": "true"]) { $1 }) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }

    func testACrashedRankIsNamedAndBadInputIsOneLine() throws {
        guard DDPProcess.mpirun != nil else { throw XCTSkip("mpirun is not installed") }
        let crashed = try local(["2", "train", "--data", "synthetic", "--steps", "60", "--run-dir", DDPProcess.temporaryFolder("crash")],
                                environment: ["DDP_FAULT": "kill:30:1"])
        XCTAssertEqual(crashed.status, 137, crashed.all)
        XCTAssertTrue(crashed.stderr.contains("process rank 1") && crashed.stderr.contains("signal 9"), crashed.stderr)
        XCTAssertFalse(crashed.stderr.contains("Primary job"), crashed.stderr)

        let bad = try local(["2", "train", "--data", "/nonexistent/folder"])
        XCTAssertEqual(bad.status, 1)
        let lines = bad.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "our one line, no mpirun banner: \(bad.stderr)")
        XCTAssertTrue(lines.first?.hasPrefix("error: rank 0 on ") ?? false, bad.stderr)
        XCTAssertTrue(lines.first?.hasSuffix("data folder /nonexistent/folder does not exist") ?? false, bad.stderr)
    }
}
