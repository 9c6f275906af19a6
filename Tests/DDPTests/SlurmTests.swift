// launch/slurm.sbatch submitted with sbatch to a real two-node Slurm cluster on this machine
// (launch/slurm-local.sh: slurmctld, munged and two slurmd, each node under its own hostname),
// 2 nodes x 2 tasks, through `srun --mpi=pmix` and through mpirun inside the allocation: the run
// folder is complete, timing.csv puts ranks 0-1 on n1 and 2-3 on n2, the parameters equal the same
// run under plain mpirun bit for bit, and the Slurm output file is plain text (no progress line).
// A running job `scontrol requeue`d continues its run folder, on the same nodes bit for bit, on
// fewer nodes (given while it is pending) within 1e-5 relative.
// Skipped where the machine cannot (not root, Slurm not installed, no UTS namespaces).
import Foundation
import XCTest

final class SlurmTests: XCTestCase {
    struct ClusterFailed: Error { let message: String }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let flags = ["train", "--data", "synthetic", "--steps", "20", "--seed", "3"]

    /// A cluster in a new folder, taken down when the test ends, passed or not. Returns its slurm.conf.
    func cluster() throws -> String {
        let folder = DDPProcess.temporaryFolder("slurm")
        addTeardownBlock {
            let down = try? DDPProcess.capture("/bin/bash", [Self.root + "/launch/slurm-local.sh", "down", folder])
            XCTAssertEqual(down?.status, 0, "slurm-local.sh down: \(down?.all ?? "did not start")")
        }
        let up = try DDPProcess.capture("/bin/bash", [Self.root + "/launch/slurm-local.sh", "up", folder])
        if up.status == 77 { throw XCTSkip("no local Slurm cluster here: \(up.stderr)") }
        guard up.status == 0 else { throw ClusterFailed(message: "slurm-local.sh up exited \(up.status): \(up.all)") }
        return folder + "/slurm.conf"
    }

    /// `sbatch OPTIONS launch/slurm.sbatch ARGUMENTS` as a user submits it, with `launcher` and
    /// `environment` (for the job too: sbatch exports its environment), its output file in `output`.
    func sbatch(conf: String, launcher: String, output: String, options: [String], environment: [String: String] = [:],
                _ arguments: [String]) throws -> Outcome {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        // Without CI in the job's environment, so the output file shows what a user's would.
        // --time bounds a hang: Slurm ends the job (a run takes about 10 s here).
        return try DDPProcess.capture("/usr/bin/env", [
            "-u", "CI", "SLURM_CONF=\(conf)", "DDP_HOME=\(Self.root)", "DDP=\(DDPProcess.executable)",
            "DDP_LAUNCHER=\(launcher)", "DDP_SRUN_MPI=pmix", "DDP_BIND_TO=none",
            // 4 ranks on 2 cores: MPI should yield the core while it waits.
            "OMPI_MCA_mpi_yield_when_idle=1",
        ] + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [
            "sbatch", "--time=3", "--output=\(output)/slurm-%j.out",
        ] + options + [Self.root + "/launch/slurm.sbatch"] + arguments)
    }

    /// The text of the one Slurm output file in `output` ("" if none).
    func outputText(_ output: String) throws -> String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        return try files.first.map { try String(contentsOfFile: output + "/" + $0, encoding: .utf8) } ?? ""
    }

    /// `sbatch --wait launch/slurm.sbatch FLAGS --run-dir RUN` with `launcher`; returns the job's output file's text.
    func submit(conf: String, launcher: String, runDir: String) throws -> String {
        let output = DDPProcess.temporaryFolder("slurm-out")
        let job = try sbatch(conf: conf, launcher: launcher, output: output, options: ["--wait"], Self.flags + ["--run-dir", runDir])
        let text = try outputText(output)
        XCTAssertEqual(job.status, 0, "\(launcher): sbatch: \(job.all)\njob output:\n\(text)")
        return text
    }

    /// `flags --run-dir DIR` under plain `mpirun -np ranks`, with the OpenBLAS kernel set
    /// launch/rank-env.sh gives each Slurm rank on this machine (kernel sets agree to rounding, not
    /// bit for bit); returns DIR.
    func plainRun(_ flags: [String], ranks: Int) throws -> String {
        let dir = DDPProcess.temporaryFolder("slurm-plain")
        let blas = try DDPProcess.capture("/bin/bash", ["-c", "source \(Self.root)/launch/blas-env.sh; echo \"${OPENBLAS_CORETYPE:-}\""])
        let coretype = blas.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let plain = try DDPProcess.run(flags + ["--run-dir", dir], ranks: ranks,
                                       environment: coretype.isEmpty ? [:] : ["OPENBLAS_CORETYPE": coretype])
        XCTAssertEqual(plain.status, 0, plain.all)
        return dir
    }

    /// `scontrol ARGUMENTS` on the cluster of `conf`.
    func scontrol(_ conf: String, _ arguments: [String]) throws -> Outcome {
        try DDPProcess.capture("/usr/bin/env", ["SLURM_CONF=\(conf)", "scontrol"] + arguments)
    }

    /// A job's JobState and Reason (`scontrol show job -o`), "" when Slurm does not know it.
    func jobState(_ conf: String, _ job: String) throws -> (state: String, reason: String) {
        let fields = try scontrol(conf, ["show", "job", "-o", job]).stdout.split(separator: " ")
        func field(_ name: String) -> String {
            fields.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) } ?? ""
        }
        return (field("JobState"), field("Reason"))
    }

    /// The controller's log lines that name JobId=`job` (a failure's evidence: the cluster's folder
    /// goes with the test's teardown).
    func controllerLog(conf: String, job: String) -> String {
        let log = (conf as NSString).deletingLastPathComponent + "/slurmctld.log"
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? "(no \(log))"
        return text.split(separator: "\n").filter { $0.contains("JobId=\(job) ") || $0.hasSuffix("JobId=\(job)") || $0.contains("job \(job)") }
            .suffix(60).joined(separator: "\n")
    }

    /// The first column of a run's steps.csv.
    func steps(_ runDir: String) -> [String] {
        let text = (try? String(contentsOfFile: runDir + "/steps.csv", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst().map { String($0.prefix { $0 != "," }) }
    }

    func testSbatchOnTwoNodesThroughSrunAndMpirunEqualsPlainMpirun() throws {
        let conf = try cluster()
        let plainDir = try plainRun(Self.flags, ranks: 4)
        let expected = try DDPProcess.json(plainDir + "/summary.json")["param_checksum"] as? String
        XCTAssertNotNil(expected)

        for launcher in ["srun", "mpirun"] {
            let runDir = DDPProcess.temporaryFolder("slurm-\(launcher)")
            let output = try submit(conf: conf, launcher: launcher, runDir: runDir)
            for file in ["config.json", "metrics.csv", "steps.csv", "timing.csv", "summary.json", "model.safetensors"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: runDir + "/" + file), "\(launcher): no \(file)")
            }
            let summary = try DDPProcess.json(runDir + "/summary.json")
            XCTAssertEqual(summary["ranks"] as? Int, 4, launcher)
            XCTAssertEqual(summary["param_checksum"] as? String, expected, "\(launcher): parameters differ from plain mpirun")
            // rank -> host from timing.csv: two ranks on each node, in order.
            let rows = try String(contentsOfFile: runDir + "/timing.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            let hosts = Dictionary(rows.map { row -> (String, String) in
                let fields = row.split(separator: ",").map(String.init)
                return (fields[0], fields[1])
            }, uniquingKeysWith: { first, _ in first })
            XCTAssertEqual(hosts, ["0": "n1", "1": "n1", "2": "n2", "3": "n2"], launcher)
            // The Slurm output file: the run's lines, and no carriage returns or escape sequences.
            XCTAssertTrue(output.contains("param_checksum \(expected ?? "?") (identical on all 4 ranks)"), "\(launcher): \(output)")
            XCTAssertFalse(output.contains("\r") || output.contains("\u{1B}"),
                           "\(launcher): the Slurm output file holds progress-line control characters: \(output.debugDescription)")
        }
    }

    // Adam on 20,000 random samples, 64 a step (313 steps an epoch), 400 steps: optimizer state and
    // the data order across an epoch's end must survive the requeue. Rank 0 sleeps 10 ms a step in
    // the Slurm jobs (DDP_FAULT=pace), so they last at least 4 s and the requeue lands mid-run.
    static let requeueFlags = ["train", "--data", "synthetic-binary:20000x20", "--batch-per-rank", "16", "--steps", "400",
                               "--optimizer", "adam", "--trace-steps", "none"]

    /// Submits launch/slurm.sbatch REQUEUEFLAGS --run-dir RUN (2 nodes x 2 tasks), `scontrol requeue`s
    /// it once steps.csv shows progress, while it is pending gives it 1 node x 2 tasks if `shrink`,
    /// and waits for its end: Slurm holds a requeued job (Reason=BeginTime) for cred_expire, 10 s in
    /// launch/slurm-local.sh, then starts it again by itself. (Releasing the hold early with
    /// `scontrol update StartTime=now` made the second start fail in two fresh-clone runs of the
    /// suite, never alone: see README.) Returns the job's output and the step the first start
    /// stopped at.
    func requeueMidRun(conf: String, runDir: String, shrink: Bool) throws -> (output: String, stoppedAt: Int) {
        let output = DDPProcess.temporaryFolder("slurm-out")
        let submitted = try sbatch(conf: conf, launcher: "srun", output: output, options: ["--parsable"],
                                   environment: ["DDP_FAULT": "pace:10:0"], Self.requeueFlags + ["--run-dir", runDir])
        XCTAssertEqual(submitted.status, 0, submitted.all)
        let job = String(submitted.stdout.prefix { $0.isNumber })
        let ended = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED"]
        XCTAssertTrue(RunningProcess.waitFor(seconds: 120) {
            usleep(100_000)
            return steps(runDir).count >= 20 || ended.contains((try? jobState(conf, job).state) ?? "")
        }, "no progress in 120 s: \((try? outputText(output)) ?? "")")
        XCTAssertEqual(try jobState(conf, job).state, "RUNNING", "the job ended before it was requeued: \((try? outputText(output)) ?? "")")
        let requeue = try scontrol(conf, ["requeue", job])
        XCTAssertEqual(requeue.status, 0, requeue.all)

        var shrunk = !shrink, held = false, last = (state: "", reason: "")
        let finished = RunningProcess.waitFor(seconds: 150) {
            usleep(200_000)
            guard let now = try? jobState(conf, job) else { return false }
            last = now
            if now.state == "PENDING" {
                // What a user whose allocation shrank does: the pending job on one node, two tasks.
                if !shrunk { shrunk = (try? scontrol(conf, ["update", "JobId=\(job)", "NumNodes=1", "NumTasks=2", "NumCPUs=2"]))?.status == 0 }
                held = held || now.reason == "BeginTime"
            }
            return ended.contains(now.state)
        }
        let text = try outputText(output)
        XCTAssertTrue(finished && last.state == "COMPLETED", "job \(job) \(last): \(text)\nslurmctld.log:\n\(controllerLog(conf: conf, job: job))")
        XCTAssertTrue(shrunk, "scontrol update NumNodes=1 failed on the pending job")
        XCTAssertTrue(held, "the requeued job was never pending with Reason=BeginTime, as README says Slurm holds it")
        // The first start stopped on Slurm's SIGTERM with a checkpoint; the second continued it.
        XCTAssertTrue(text.contains("launch/slurm.sbatch: job \(job), start 1 of it"), text)
        let stoppedLine = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("stopped by SIGTERM after step ") }, text)
        let stoppedAt = try XCTUnwrap(Int(stoppedLine.dropFirst("stopped by SIGTERM after step ".count).prefix { $0.isNumber }))
        XCTAssertTrue(stoppedAt >= 20 && stoppedAt < 400, "requeued mid-run: step \(stoppedAt)")
        let resumed = text.split(separator: "\n").first { $0.hasPrefix("resuming \(runDir) at epoch ") }
        XCTAssertTrue(resumed?.contains(", step \(stoppedAt)") ?? false, text)
        // Every step once, and the run finished over two launches.
        XCTAssertEqual(steps(runDir), (1...400).map(String.init), "every step exactly once")
        let summary = try DDPProcess.json(runDir + "/summary.json")
        XCTAssertEqual(summary["interrupted"] as? Bool, false, text)
        XCTAssertEqual(summary["launches"] as? Int, 2, text)
        return (text, stoppedAt)
    }

    /// `scontrol requeue` of a running job: Slurm's SIGTERM stops the ranks with a checkpoint, and the
    /// requeued job continues the run folder (--auto-resume) on the same 4 ranks to the parameters
    /// of the uninterrupted run under plain mpirun bit for bit; given 1 node x 2 tasks while pending,
    /// it continues on those, within 1e-5 relative.
    func testRequeuedJobContinuesItsRunOnTheSameAndOnFewerNodes() throws {
        let conf = try cluster()
        let plainDir = try plainRun(Self.requeueFlags, ranks: 4)
        let plain = try DDPProcess.json(plainDir + "/summary.json")
        let expected = try XCTUnwrap(plain["param_checksum"] as? String)

        let same = DDPProcess.temporaryFolder("slurm-requeue")
        let first = try requeueMidRun(conf: conf, runDir: same, shrink: false)
        XCTAssertFalse(first.output.contains("(it ran on"), first.output)
        let summary = try DDPProcess.json(same + "/summary.json")
        XCTAssertEqual(summary["ranks"] as? Int, 4)
        XCTAssertEqual(summary["param_checksum"] as? String, expected, "same rank count: the resume is exact")

        let fewer = DDPProcess.temporaryFolder("slurm-requeue-fewer")
        let second = try requeueMidRun(conf: conf, runDir: fewer, shrink: true)
        XCTAssertTrue(second.output.contains("launch/slurm.sbatch: 2 rank(s) on 1 node(s) (n1)"), second.output)
        XCTAssertTrue(second.output.contains("step \(second.stoppedAt) on 2 rank(s) (it ran on 4)"), second.output)
        XCTAssertEqual(try DDPProcess.json(fewer + "/summary.json")["ranks"] as? Int, 2)
        let difference = relativeDifference(try safetensorsParameters(fewer + "/model.safetensors"),
                                            try safetensorsParameters(plainDir + "/model.safetensors"))
        XCTAssertLessThan(difference, 1e-5, "2 ranks after 4: relative difference \(difference)")
    }
}
