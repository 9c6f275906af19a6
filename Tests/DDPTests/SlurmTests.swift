// launch/slurm.sbatch submitted with sbatch to a real two-node Slurm cluster on this machine
// (launch/slurm-local.sh: slurmctld, munged and two slurmd, each node under its own hostname),
// 2 nodes x 2 tasks, through `srun --mpi=pmix` and through mpirun inside the allocation: the run
// folder is complete, timing.csv puts ranks 0-1 on n1 and 2-3 on n2, the parameters equal the same
// run under plain mpirun bit for bit, and the Slurm output file is plain text (no progress line).
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

    /// `sbatch --wait launch/slurm.sbatch FLAGS --run-dir RUN` with `launcher`; returns the job's output file's text.
    func submit(conf: String, launcher: String, runDir: String) throws -> String {
        let output = DDPProcess.temporaryFolder("slurm-out")
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        // Without CI in the job's environment, so the output file shows what a user's would.
        // --time bounds a hang: Slurm ends the job (a run takes about 10 s here).
        let job = try DDPProcess.capture("/usr/bin/env", [
            "-u", "CI", "SLURM_CONF=\(conf)", "DDP_HOME=\(Self.root)", "DDP=\(DDPProcess.executable)",
            "DDP_LAUNCHER=\(launcher)", "DDP_SRUN_MPI=pmix", "DDP_BIND_TO=none",
            // 4 ranks on 2 cores: MPI should yield the core while it waits.
            "OMPI_MCA_mpi_yield_when_idle=1",
            "sbatch", "--wait", "--time=3", "--output=\(output)/slurm-%j.out", Self.root + "/launch/slurm.sbatch",
        ] + Self.flags + ["--run-dir", runDir])
        let files = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        let text = try files.first.map { try String(contentsOfFile: output + "/" + $0, encoding: .utf8) } ?? ""
        XCTAssertEqual(job.status, 0, "\(launcher): sbatch: \(job.all)\njob output:\n\(text)")
        return text
    }

    func testSbatchOnTwoNodesThroughSrunAndMpirunEqualsPlainMpirun() throws {
        let conf = try cluster()
        let plainDir = DDPProcess.temporaryFolder("slurm-plain")
        // The kernel set launch/rank-env.sh gives each Slurm rank on this machine, for the plain run too
        // (OpenBLAS kernel sets agree to rounding, not bit for bit).
        let blas = try DDPProcess.capture("/bin/bash", ["-c", "source \(Self.root)/launch/blas-env.sh; echo \"${OPENBLAS_CORETYPE:-}\""])
        let coretype = blas.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let plain = try DDPProcess.run(Self.flags + ["--run-dir", plainDir], ranks: 4,
                                       environment: coretype.isEmpty ? [:] : ["OPENBLAS_CORETYPE": coretype])
        XCTAssertEqual(plain.status, 0, plain.all)
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
}
