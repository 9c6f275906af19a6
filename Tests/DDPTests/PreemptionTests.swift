// A stop loses no work: SIGTERM or SIGINT (to mpirun, to a launch script, or to one rank) stops
// every rank at the same step with a checkpoint of that step, and the run continues on the same
// rank count bit for bit, or on another that divides its global batch within 1e-5 relative.
import Foundation
import XCTest

final class PreemptionTests: XCTestCase {
    // 100,000 random samples / (2 ranks x 16) = 3125 steps an epoch, so a stop is always within
    // epoch 1, never at its end; Adam, so optimizer state must survive too. No periodic checkpoints.
    /// A linear softmax model (fc2, convex): a resume on another rank count sums in another order,
    /// and here that rounding stays at 1e-7 to 1e-6 relative at every stop step tried (2026-12-03).
    /// With a hidden ReLU layer a rare stop step amplified it past 1e-5 (an MLP with Adam: 4.3e-4
    /// after step 286 on one machine's kernels, fine on another's; with SGD 1.3e-3 after step 100),
    /// which made the elastic checks fail in about one run of 30, by the signal's timing alone.
    static let flags = ["--data", "synthetic-binary:100000x20", "--model", "fc2", "--batch-per-rank", "16", "--steps", "3000",
                        "--optimizer", "adam", "--trace-steps", "none"]

    /// Rank 0 sleeps 2 ms after every step of a run to be signalled (DDP_FAULT=pace), so 3000 steps
    /// last at least 6 s and the signal lands mid-run even with the release build on a fast machine.
    static let pace = "pace:2:0"

    /// The uninterrupted run on 2 ranks, made once for the tests of this class.
    nonisolated(unsafe) static var wholeRun: String?
    func whole() throws -> String {
        if let done = PreemptionTests.wholeRun { return done }
        let dir = DDPProcess.temporaryFolder("whole")
        let outcome = try DDPProcess.run(["train"] + PreemptionTests.flags + ["--run-dir", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        PreemptionTests.wholeRun = dir
        return dir
    }

    func steps(_ dir: String) throws -> [String] {
        try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { String($0.prefix { $0 != "," }) }
    }

    /// Waits for config.json (training is about to start) so the signal lands mid-run.
    func waitForTraining(_ dir: String) {
        XCTAssertTrue(RunningProcess.waitFor(seconds: 120) { FileManager.default.fileExists(atPath: dir + "/config.json") })
    }

    /// The step a stopped run's summary.json records. `signal`: the one the ranks got; `said`: the
    /// one the line names (a launch script's, which the ranks got as SIGUSR1).
    func stoppedStep(_ dir: String, _ outcome: Outcome, signal: String, said: String? = nil) throws -> Int {
        let summary = try DDPProcess.json(dir + "/summary.json")
        XCTAssertEqual(summary["interrupted"] as? Bool, true, outcome.all)
        XCTAssertEqual(summary["stop_signal"] as? String, signal)
        let step = try XCTUnwrap(summary["interrupted_at_step"] as? Int)
        XCTAssertTrue(outcome.stdout.contains("stopped by \(said ?? signal) after step \(step): checkpoint written in \(dir); to continue: "),
                      outcome.stdout)
        XCTAssertTrue(outcome.stdout.contains("train --resume \(dir) (-np may be any of 1, 2, 4, 8, 16, 32)"), outcome.stdout)
        // CSV rows whole, every step up to the stop once; the checkpoint is of that very step.
        XCTAssertEqual(try steps(dir), (1...step).map(String.init))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/checkpoint.ddp.tmp"))
        return step
    }

    /// The issue asks that the job end within 10 s of the signal; the path needs far less: at most
    /// two of mpirun's one-second waits (odls_base_sigkill_timeout), the step under way and a
    /// checkpoint of a few KB (about 2 s from signal to exit on a loaded 2-core machine, README),
    /// while schedulers give 30 s before SIGKILL (Slurm's KillWait, torchrun). Timed from the signal
    /// to the exit on the monotonic clock, so load that stretches the start-up or this test's own
    /// waiting and reading does not count; a failure shows the load average.
    func assertEndsWithinTenSeconds(_ job: RunningProcess, file: StaticString = #filePath, line: UInt = #line) throws {
        let seconds = try XCTUnwrap(job.secondsFromSignalToExit, "no signal sent, or no exit seen", file: file, line: line)
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "unknown"
        XCTAssertLessThan(seconds, 10, "seconds from the signal to the job's end; load average \(load)", file: file, line: line)
    }

    func testSIGTERMToMpirunStopsAtTheStepAndResumesOnAnyRankCount() throws {
        let reference = try whole()
        let cut = DDPProcess.temporaryFolder("term")
        let job = try RunningProcess.mpirun(["train"] + PreemptionTests.flags + ["--run-dir", cut], ranks: 2,
                                            environment: ["DDP_FAULT": PreemptionTests.pace])
        waitForTraining(cut)
        job.signal(SIGTERM)
        let outcome = try job.finish()
        try assertEndsWithinTenSeconds(job)
        // mpirun kills the job itself on SIGTERM and exits with its own 1, not the ranks' 143 (README).
        XCTAssertEqual(outcome.status, 1, outcome.all)
        let step = try stoppedStep(cut, outcome, signal: "SIGTERM")
        XCTAssertTrue(step > 0 && step < 3000, "mid-epoch: \(step)")

        // The same run resumed on 1, 2 and 4 ranks (oversubscribed).
        var copies: [Int: String] = [:]
        for ranks in [1, 4] {
            copies[ranks] = cut + "-np\(ranks)"
            try FileManager.default.copyItem(atPath: cut, toPath: copies[ranks]!)
        }
        copies[2] = cut
        let wholeParameters = try safetensorsParameters(reference + "/model.safetensors")
        for ranks in [2, 1, 4] {
            let dir = copies[ranks]!
            let resumed = try DDPProcess.run(["train", "--resume", dir], ranks: ranks)
            XCTAssertEqual(resumed.status, 0, resumed.all)
            XCTAssertTrue(resumed.stdout.contains("resuming \(dir) at epoch 1, step \(step)"), resumed.stdout)
            XCTAssertEqual(try steps(dir), (1...3000).map(String.init), "every step once on \(ranks) rank(s)")
            let summary = try DDPProcess.json(dir + "/summary.json")
            XCTAssertEqual(summary["interrupted"] as? Bool, false)
            XCTAssertEqual(summary["launches"] as? Int, 2)
            let wall = try XCTUnwrap(summary["wall_seconds"] as? Double), launchWall = try XCTUnwrap(summary["launch_wall_seconds"] as? Double)
            XCTAssertGreaterThan(wall, launchWall, "the run's wall time includes the first launch")
            XCTAssertLessThanOrEqual(try XCTUnwrap(summary["train_seconds"] as? Double), wall)
            let difference = relativeDifference(try safetensorsParameters(dir + "/model.safetensors"), wholeParameters)
            if ranks == 2 {
                XCTAssertEqual(summary["param_checksum"] as? String, try DDPProcess.json(reference + "/summary.json")["param_checksum"] as? String,
                               "same rank count: bit for bit")
            } else {
                XCTAssertLessThan(difference, 1e-5, "\(ranks) rank(s): relative difference \(difference)")
            }
        }
    }

    func testSIGINTThroughTheLaunchScriptAndSignalsDuringTheCheckpoint() throws {
        guard DDPProcess.mpirun != nil else { throw XCTSkip("mpirun is not installed") }
        let reference = try whole()
        let cut = DDPProcess.temporaryFolder("int")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        // Rank 0 pauses 1 s halfway through writing any checkpoint (half of it in checkpoint.ddp.tmp).
        // The OpenBLAS kernels of the uninterrupted run (local.sh would pick its own; other kernels round otherwise).
        let kernels = try XCTUnwrap(try DDPProcess.json(reference + "/summary.json")["blas_core"] as? String)
        let job = try RunningProcess("/bin/bash", [root.appendingPathComponent("launch/local.sh").path, "2", "train"]
                                     + PreemptionTests.flags + ["--run-dir", cut],
                                     environment: ["DDP": DDPProcess.executable, "DDP_FAULT": "slow:0:0," + PreemptionTests.pace,
                                                   "DDP_OPENBLAS_CORETYPE": kernels])
        waitForTraining(cut)
        let ranks = job.ranks
        XCTAssertEqual(ranks.count, 2)
        job.signal(SIGINT)
        // While the checkpoint is being written: SIGTERM to the script and to every rank, and SIGINT again.
        XCTAssertTrue(RunningProcess.waitFor(seconds: 30) { FileManager.default.fileExists(atPath: cut + "/checkpoint.ddp.tmp") })
        job.signal(SIGTERM)
        for pid in ranks { kill(pid, SIGTERM) }
        job.signal(SIGINT)
        let outcome = try job.finish()
        try assertEndsWithinTenSeconds(job)  // the 1 s pause in the checkpoint included
        XCTAssertEqual(outcome.status, 130, "the script exits as the shell would for the first signal, SIGINT: \(outcome.all)")
        XCTAssertTrue(outcome.errorLines.isEmpty, outcome.all)
        // mpirun passed the script's signals to the ranks as SIGUSR1, the line names the first one;
        // the checkpoint survived the rest.
        let step = try stoppedStep(cut, outcome, signal: "SIGUSR1", said: "SIGINT (passed on to the ranks as SIGUSR1)")
        try resumeToTheSameParameters(cut, ranks: 2, at: "epoch 1, step \(step)", as: reference)
    }

    /// SIGTERM to launch/local.sh (a scheduler, or `kill`): the script exits 143 as a shell would
    /// (bare mpirun exits 1: the test above), and the line names the SIGTERM, not the SIGUSR1 the
    /// script passed on to the ranks.
    func testSIGTERMToTheLaunchScriptIsNamedAndExits143() throws {
        guard DDPProcess.mpirun != nil else { throw XCTSkip("mpirun is not installed") }
        let cut = DDPProcess.temporaryFolder("script-term")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let job = try RunningProcess("/bin/bash", [root.appendingPathComponent("launch/local.sh").path, "2", "train"]
                                     + PreemptionTests.flags + ["--run-dir", cut],
                                     environment: ["DDP": DDPProcess.executable, "DDP_FAULT": PreemptionTests.pace])
        waitForTraining(cut)
        job.signal(SIGTERM)
        let outcome = try job.finish()
        try assertEndsWithinTenSeconds(job)
        XCTAssertEqual(outcome.status, 143, outcome.all)
        XCTAssertTrue(outcome.errorLines.isEmpty, outcome.all)
        _ = try stoppedStep(cut, outcome, signal: "SIGUSR1", said: "SIGTERM (passed on to the ranks as SIGUSR1)")
    }

    /// SIGINT reaching a rank (mpirun turns a SIGINT sent to it into SIGTERM for the ranks, so the
    /// fault sends it to rank 1 alone): every rank stops after the next step and exits 130, and the
    /// run continues on 1 rank to the uninterrupted 2-rank run within 1e-5 relative.
    func testSIGINTToARankStopsEveryRankAndResumesOnOneRank() throws {
        let reference = try whole()
        let cut = DDPProcess.temporaryFolder("sigint")
        let stopped = try DDPProcess.run(["train"] + PreemptionTests.flags + ["--run-dir", cut], ranks: 2,
                                         environment: ["DDP_FAULT": "int:1500:1"])
        XCTAssertEqual(stopped.status, 130, stopped.all)
        XCTAssertEqual(try stoppedStep(cut, stopped, signal: "SIGINT"), 1501)
        let resumed = try DDPProcess.run(["train", "--resume", cut], ranks: 1)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("resuming \(cut) at epoch 1, step 1501 on 1 rank(s) (it ran on 2)"), resumed.stdout)
        XCTAssertEqual(try steps(cut), (1...3000).map(String.init))
        let difference = relativeDifference(try safetensorsParameters(cut + "/model.safetensors"),
                                            try safetensorsParameters(reference + "/model.safetensors"))
        XCTAssertLessThan(difference, 1e-5)
    }

    /// A BatchNorm run whose ghost batches (32) are its 2 ranks' whole micro-batches continues only on
    /// rank counts that keep those groups: 1 and 2. The line after the stop names exactly those; 4
    /// ranks (they divide the global batch 64 but would split the groups) are refused naming them;
    /// 1 rank (micro-batch 32, accumulation 2) ends within 1e-5 relative of the uninterrupted run,
    /// BatchNorm's running statistics included.
    func testAGhostBatchRunContinuesOnlyOnRankCountsThatKeepItsGroups() throws {
        let flags = ["train", "--data", "synthetic", "--model", "fc64-bn-relu-fc10", "--ghost-batch", "32", "--batch-per-rank", "32",
                     "--steps", "60", "--optimizer", "adam", "--trace-steps", "none"]
        let whole = DDPProcess.temporaryFolder("ghost-whole"), cut = DDPProcess.temporaryFolder("ghost-cut")
        let uninterrupted = try DDPProcess.run(flags + ["--run-dir", whole], ranks: 2)
        XCTAssertEqual(uninterrupted.status, 0, uninterrupted.all)
        let stopped = try DDPProcess.run(flags + ["--run-dir", cut], ranks: 2, environment: ["DDP_FAULT": "term:20:1"])
        XCTAssertEqual(stopped.status, 143, stopped.all)
        XCTAssertTrue(stopped.stdout.contains("stopped by SIGTERM after step 21: "), stopped.stdout)
        XCTAssertTrue(stopped.stdout.contains("train --resume \(cut) (-np may be any of 1, 2)"), stopped.stdout)

        _ = try expectRefusal(["train", "--resume", cut], ranks: 4,
                              mentioning: "the run's global batch 64 is not divisible by the 4 ranks into ghost batches of 32; "
                                          + "it can be split over 1, 2 ranks")

        let one = try DDPProcess.run(["train", "--resume", cut], ranks: 1)
        XCTAssertEqual(one.status, 0, one.all)
        XCTAssertTrue(one.stdout.contains("resuming \(cut) at epoch 1, step 21 on 1 rank(s) (it ran on 2)"), one.stdout)
        XCTAssertTrue(one.stdout.contains("batch       global 64 = 1 ranks x 32 per rank x 2 accumulation"), one.stdout)
        XCTAssertEqual(try steps(cut), (1...60).map(String.init))
        // launches.csv: each launch's split and hosts (config.json keeps the first's), without its time.
        let launches = try String(contentsOfFile: cut + "/launches.csv", encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: ",").dropLast().joined(separator: ",") }
        let host = try XCTUnwrap(launches.last?.split(separator: ",").last?.split(separator: "*").first)
        XCTAssertEqual(launches, ["launch,from_step,ranks,batch_per_rank,accumulate,hosts",
                                  "1,0,2,32,1,\(host)*2", "2,21,1,32,2,\(host)*1"])
        let difference = relativeDifference(try safetensorsParameters(cut + "/model.safetensors"),
                                            try safetensorsParameters(whole + "/model.safetensors"))
        XCTAssertLessThan(difference, 1e-5)
    }

    /// Without --ghost-batch a BatchNorm run's groups are the micro-batch per rank it started with
    /// (32 on 1 rank), and stay so: on 2 ranks the micro-batch would be 16, which cannot hold them,
    /// so that resume is refused rather than run with groups of 16.
    func testTheGhostBatchARunStartedWithIsKeptWithoutTheFlag() throws {
        let cut = DDPProcess.temporaryFolder("ghost-implicit")
        let stopped = try DDPProcess.run(["train", "--data", "synthetic", "--model", "fc64-bn-relu-fc10", "--batch-per-rank", "32",
                                          "--steps", "20", "--trace-steps", "none", "--run-dir", cut], ranks: 1, environment: ["DDP_FAULT": "term:10:0"])
        XCTAssertEqual(stopped.status, 143, stopped.all)
        XCTAssertTrue(stopped.stdout.contains("train --resume \(cut) (-np may be any of 1)"), stopped.stdout)
        _ = try expectRefusal(["train", "--resume", cut], ranks: 2,
                              mentioning: "into ghost batches of 32")
    }

    /// launch/slurm.sbatch with stand-ins for srun (mpirun with SLURM_NTASKS ranks) and scontrol
    /// (records its arguments): the time-limit warning stops the ranks and requeues the job, and
    /// the requeued job, given 4 tasks instead of 2, continues the run folder to the same end.
    func testSlurmScriptRequeuesOnItsWarningAndTheRequeuedJobContinuesOnOtherNodes() throws {
        guard DDPProcess.mpirun != nil else { throw XCTSkip("mpirun is not installed") }
        let reference = try whole()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fakes = DDPProcess.temporaryFolder("slurm-bin"), log = fakes + "/scontrol.log", dir = DDPProcess.temporaryFolder("slurm-run")
        try FileManager.default.createDirectory(atPath: fakes, withIntermediateDirectories: true)
        let root0 = getuid() == 0 ? "--allow-run-as-root " : ""
        let stands = [
            "srun": "while [[ $1 == --* ]]; do shift; done\nexec mpirun -np \"$SLURM_NTASKS\" --oversubscribe --bind-to none \(root0)"
                + DDPProcess.exportFlags.joined(separator: " ") + " \"$@\"\n",
            "scontrol": "echo \"$*\" >> \(log)\n",
        ]
        for (name, body) in stands {
            try Data(("#!/bin/bash\n" + body).utf8).write(to: URL(fileURLWithPath: fakes + "/" + name))
            chmod(fakes + "/" + name, 0o755)
        }
        func job(tasks: Int, restart: Int, fault: String = "") throws -> RunningProcess {
            try RunningProcess("/bin/bash", [root.appendingPathComponent("launch/slurm.sbatch").path, "train"] + PreemptionTests.flags + ["--run-dir", dir],
                               environment: ["PATH": fakes + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
                                             "SLURM_JOB_ID": "4242", "SLURM_NTASKS": String(tasks), "SLURM_RESTART_COUNT": String(restart),
                                             "DDP_HOME": root.path, "DDP": DDPProcess.executable, "DDP_FAULT": fault])
        }
        let first = try job(tasks: 2, restart: 0, fault: PreemptionTests.pace)
        waitForTraining(dir)
        first.signal(SIGUSR1)  // what --signal=B:USR1@120 sends the batch shell
        let stopped = try first.finish()
        XCTAssertEqual(stopped.status, 138, stopped.all)
        let step = try stoppedStep(dir, stopped, signal: "SIGUSR1")
        XCTAssertTrue(stopped.stdout.contains("requeueing job 4242"), stopped.stdout)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "requeue 4242\n")

        let requeued = try job(tasks: 4, restart: 1).finish()
        XCTAssertEqual(requeued.status, 0, requeued.all)
        XCTAssertTrue(requeued.stdout.contains("resuming \(dir) at epoch 1, step \(step) on 4 rank(s) (it ran on 2)"), requeued.stdout)
        XCTAssertEqual(try steps(dir), (1...3000).map(String.init))
        let difference = relativeDifference(try safetensorsParameters(dir + "/model.safetensors"),
                                            try safetensorsParameters(reference + "/model.safetensors"))
        XCTAssertLessThan(difference, 1e-5)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "requeue 4242\n", "a job that ends is not requeued")
    }

    /// A stop agreed in the step that ends an epoch still evaluates it: metrics.csv keeps that row
    /// (the resumed run starts after it), every row equal to the uninterrupted run's. And a stop at
    /// the epoch end where the plateau rule ends the run leaves nothing to train: the resumed run
    /// ends there, as the uninterrupted one did, rather than training one more epoch.
    func testAStopAtAnEvaluationKeepsItsRowAndAPlateauEndsTheRun() throws {
        func evaluations(_ dir: String) throws -> [String] {
            // epoch through gns: samples_per_sec and the seconds are timings.
            try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8).split(separator: "\n").dropFirst()
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(10).joined(separator: ",") }
        }
        let flags = ["train", "--data", "synthetic", "--epochs", "3", "--batch-per-rank", "64", "--trace-steps", "none"]
        let whole = DDPProcess.temporaryFolder("eval-whole"), cut = DDPProcess.temporaryFolder("eval-cut")
        XCTAssertEqual(try DDPProcess.run(flags + ["--run-dir", whole], ranks: 2).status, 0)
        // 4096 samples / 128 = 32 steps an epoch; the signal after step 31 stops the ranks after step 32.
        let stopped = try DDPProcess.run(flags + ["--run-dir", cut], ranks: 2, environment: ["DDP_FAULT": "term:31:0"])
        XCTAssertEqual(stopped.status, 143, stopped.all)
        XCTAssertEqual(try DDPProcess.json(cut + "/summary.json")["interrupted_at_step"] as? Int, 32)
        XCTAssertEqual(try evaluations(cut).map { $0.split(separator: ",")[1] }, ["32"])
        let resumed = try DDPProcess.run(["train", "--resume", cut], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertEqual(try evaluations(cut).map { $0.split(separator: ",")[1] }, ["32", "64", "96"])
        XCTAssertEqual(try evaluations(cut), try evaluations(whole))
        XCTAssertEqual(try DDPProcess.json(cut + "/summary.json")["param_checksum"] as? String,
                       try DDPProcess.json(whole + "/summary.json")["param_checksum"] as? String)

        // A rate too small to move the loss: the plateau rule (patience 1) ends the run after epoch 2.
        let plateau = ["train", "--data", "synthetic", "--budget", "plateau:1", "--lr", "1e-9", "--batch-per-rank", "64",
                       "--trace-steps", "none"]
        let flat = DDPProcess.temporaryFolder("plateau-whole"), flatCut = DDPProcess.temporaryFolder("plateau-cut")
        XCTAssertEqual(try DDPProcess.run(plateau + ["--run-dir", flat], ranks: 2).status, 0)
        let reference = try DDPProcess.json(flat + "/summary.json")
        XCTAssertEqual(reference["plateau_epoch"] as? Int, 2)
        XCTAssertEqual(reference["steps"] as? Int, 64)
        let flatStopped = try DDPProcess.run(plateau + ["--run-dir", flatCut], ranks: 2, environment: ["DDP_FAULT": "term:63:0"])
        XCTAssertEqual(flatStopped.status, 143, flatStopped.all)
        let flatResumed = try DDPProcess.run(["train", "--resume", flatCut], ranks: 2)
        XCTAssertEqual(flatResumed.status, 0, flatResumed.all)
        let summary = try DDPProcess.json(flatCut + "/summary.json")
        XCTAssertEqual(summary["steps"] as? Int, 64)
        XCTAssertEqual(summary["plateau_epoch"] as? Int, 2)
        XCTAssertEqual(summary["interrupted"] as? Bool, false)
        XCTAssertEqual(summary["param_checksum"] as? String, reference["param_checksum"] as? String)
        XCTAssertEqual(try steps(flatCut), (1...64).map(String.init))
    }

    /// Local SGD (H = 4): a stop agreed after step 50, mid-period, waits for the period's averaging
    /// at step 52, so the checkpoint holds every rank's state without an averaging the uninterrupted
    /// run never made, and the resumed run ends bit for bit as that run (a stop at step 50 ended elsewhere).
    func testALocalSGDStopWaitsForThePeriodsAveraging() throws {
        let flags = ["train", "--data", "synthetic", "--epochs", "2", "--batch-per-rank", "32", "--sync", "local:4", "--trace-steps", "none"]
        let whole = DDPProcess.temporaryFolder("local-whole"), cut = DDPProcess.temporaryFolder("local-cut")
        XCTAssertEqual(try DDPProcess.run(flags + ["--run-dir", whole], ranks: 2).status, 0)
        let stopped = try DDPProcess.run(flags + ["--run-dir", cut], ranks: 2, environment: ["DDP_FAULT": "term:49:1"])
        XCTAssertEqual(stopped.status, 143, stopped.all)
        XCTAssertEqual(try DDPProcess.json(cut + "/summary.json")["interrupted_at_step"] as? Int, 52)
        XCTAssertEqual(try steps(cut), (1...52).map(String.init))
        // Its replicas are its ranks: it continues on 2 only, and the line after the stop says so.
        XCTAssertTrue(stopped.stdout.contains("(-np may be any of 2)"), stopped.all)
        let elsewhere = try DDPProcess.run(["train", "--resume", cut], ranks: 1)
        XCTAssertNotEqual(elsewhere.status, 0)
        XCTAssertEqual(elsewhere.stderr.trimmingCharacters(in: .whitespacesAndNewlines),
                       "error: run \(cut) trains with local SGD (--sync local:4) on 2 rank(s), a replica each, so it continues only on 2 (mpirun -np 2); on 1 it would be another run")
        XCTAssertEqual(try steps(cut), (1...52).map(String.init), "the refused resume changed nothing")
        try resumeToTheSameParameters(cut, ranks: 2, at: "epoch 1, step 52", as: whole)
    }

    /// A stop after the last step (SIGTERM to rank 1 only) reaches the sharpness ascent, which ends
    /// at its next probe on every rank: the loop breaks off (it skipped its remaining steps one by
    /// one, so with 2^63 - 1 of them SIGTERM could not stop the job), by the ranks' agreed flag (rank
    /// 0, with no signal of its own, blamed the box; the random-subspace measurement was skipped by
    /// rank 1 alone, and the ranks' collectives parted). The run is interrupted after its last step,
    /// not finished without the figure: a resume measures both, as the uninterrupted run did.
    func testAStopDuringTheSharpnessAscentInterruptsTheRunAndAResumeMeasuresIt() throws {
        let flags = ["train", "--data", "synthetic", "--steps", "2", "--sharpness", "1e-3", "--sharpness-subspace", "10"]
        let endless = DDPProcess.temporaryFolder("sharpness-stop")
        let job = try RunningProcess.mpirun(flags + ["--sharpness-steps", "9223372036854775807", "--run-dir", endless], ranks: 2,
                                            environment: ["DDP_FAULT": "term:2:1"])
        let outcome = try job.finish(within: 60)
        XCTAssertEqual(outcome.status, 143, outcome.all)
        XCTAssertTrue(outcome.stdout.contains("sharpness not measured: stopped by a signal during its ascent; a resume measures it"), outcome.all)
        let summary = try DDPProcess.json(endless + "/summary.json")
        XCTAssertEqual(summary["interrupted"] as? Bool, true)
        XCTAssertEqual(summary["interrupted_at_step"] as? Int, 2)
        XCTAssertTrue(outcome.stdout.contains("stopped by SIGTERM after step 2: checkpoint written in \(endless); to continue: "), outcome.all)

        let whole = DDPProcess.temporaryFolder("sharpness-whole"), cut = DDPProcess.temporaryFolder("sharpness-cut")
        XCTAssertEqual(try DDPProcess.run(flags + ["--sharpness-steps", "5", "--run-dir", whole], ranks: 2).status, 0)
        let stopped = try DDPProcess.run(flags + ["--sharpness-steps", "5", "--run-dir", cut], ranks: 2, environment: ["DDP_FAULT": "term:2:1"])
        XCTAssertEqual(stopped.status, 143, stopped.all)
        let resumed = try DDPProcess.run(["train", "--resume", cut], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("resuming \(cut) after its last step, step 2 (nothing left to train)"), resumed.stdout)
        let (a, b) = (try DDPProcess.json(cut + "/summary.json"), try DDPProcess.json(whole + "/summary.json"))
        for key in ["sharpness", "sharpness_random", "param_checksum", "test_acc", "steps"] {
            XCTAssertNotNil(b[key] as? NSNumber ?? b[key] as? String, key)
            XCTAssertEqual(String(describing: a[key] ?? "missing"), String(describing: b[key] ?? "missing"), key)
        }
        XCTAssertEqual(a["interrupted"] as? Bool, false)
    }

    func testResumeRefusesARankCountThatDoesNotDivideTheGlobalBatch() throws {
        let dir = DDPProcess.temporaryFolder("ranks")
        let stopped = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "40", "--run-dir", dir], ranks: 2,
                                         environment: ["DDP_FAULT": "term:10:1"])
        XCTAssertEqual(try DDPProcess.json(dir + "/summary.json")["interrupted_at_step"] as? Int, 11, stopped.all)
        let three = try DDPProcess.run(["train", "--resume", dir], ranks: 3)
        XCTAssertNotEqual(three.status, 0)
        XCTAssertEqual(three.errorLines.count, 1, three.all)
        XCTAssertTrue(three.all.contains("the run's global batch 64 is not divisible by the 3 ranks; it can be split over 1, 2, 4, 8, 16, 32, 64 ranks"),
                      three.all)
    }
}
