// "No allocation inside the training step", counted in real runs: 2 ranks under mpirun, with and
// without the --overlap communication thread (whole buffer, or gradient buckets; config.json must
// name the path that ran), in the debug and the release build of ddp. Every thread's malloc is
// counted by libAllocationCounter.so (Tests/CAllocationCounter), preloaded into the ranks; ddp
// counts from step 3 on (DDP_COUNT_ALLOCATIONS, Training/AllocationProbe.swift).
// OpenMPI's own allocations are counted apart: its tuned allreduce allocates scratch in every call.
import Foundation
import XCTest

final class AllocationUnderMPITests: XCTestCase {
    /// The release ddp beside the debug one, built by launch/test.sh (swift build -c release --product ddp).
    var releaseExecutable: String {
        DDPProcess.buildFolder.deletingLastPathComponent().appendingPathComponent("release/ddp").path
    }

    /// Per rank: (ddp's allocations, OpenMPI's) in steps 3 to the end; and the allreduce path that
    /// ran, as config.json records it ("off", "thread", "buckets: N of >= K KB").
    func counts(_ executable: String, _ arguments: [String]) throws -> (ranks: [(ours: Int, mpi: Int)], overlap: String) {
        let library = DDPProcess.buildFolder.appendingPathComponent("libAllocationCounter.so").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: library), "swift build makes \(library)")
        let dir = DDPProcess.temporaryFolder("alloc")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--accumulate", "2",
                                          "--evals-per-epoch", "4", "--run-dir", dir] + arguments,
                                         ranks: 2, environment: ["LD_PRELOAD": library, "DDP_COUNT_ALLOCATIONS": "3"],
                                         export: ["LD_PRELOAD", "DDP_COUNT_ALLOCATIONS"], executable: executable)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        // "allocations in steps 3+: N0 N1 (OpenMPI's own: M0 M1)"
        let line = try XCTUnwrap(outcome.stdout.split(separator: "\n").first { $0.hasPrefix("allocations in steps 3+: ") },
                                 "the probe reports: \(outcome.all)")
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.dropFirst()  // drop the "3"
        XCTAssertEqual(numbers.count, 4, String(line))
        let values = Array(numbers)
        let overlap = try DDPProcess.json(dir + "/config.json")["overlap"] as? String ?? "missing"
        return ([(values[0], values[2]), (values[1], values[3])], overlap)
    }

    func check(_ executable: String, _ label: String) throws {
        // Each case names the path it means to count, which config.json must confirm: the trainer
        // silently runs the plain path when MPI grants less than MPI_THREAD_SERIALIZED. The CNN's
        // gradients fit one default (1024 KB) bucket: the thread takes them in one message.
        for (name, flags, mode) in [("plain", ["--model", "mlp", "--steps", "40"], "off"),
                                    ("overlap", ["--model", "mlp", "--overlap", "--bucket-kb", "0", "--steps", "40"], "thread"),
                                    ("buckets", ["--model", "fc64-bn-relu-fc10", "--overlap", "--bucket-kb", "1", "--steps", "40"], "buckets: 2 of >= 1 KB"),
                                    ("cnn overlap", ["--model", "cnn", "--batch-per-rank", "8", "--lr", "0.001", "--momentum", "0", "--overlap", "--steps", "12"],
                                     "buckets: 1 of >= 1024 KB")] {
            let (ranks, overlap) = try counts(executable, flags)
            XCTAssertEqual(overlap, mode, "\(label) \(name): the allreduce path that ran (config.json)")
            XCTAssertEqual(ranks.map(\.ours), [0, 0], "\(label) \(name): allocations by ddp inside steps")
            // The counter saw the allreduce's thread: OpenMPI's own scratch there is counted (apart).
            XCTAssertTrue(ranks.allSatisfy { $0.mpi > 0 }, "\(label) \(name): the counter sees MPI's allocations too")
        }
    }

    func testDebugBuildStepsAllocateNothingUnderMPI() throws {
        try check(DDPProcess.buildFolder.appendingPathComponent("ddp").path, "debug")
    }

    func testReleaseBuildStepsAllocateNothingUnderMPI() throws {
        guard FileManager.default.isExecutableFile(atPath: releaseExecutable) else {
            throw XCTSkip("no release ddp at \(releaseExecutable): swift build -c release --product ddp (launch/test.sh does)")
        }
        try check(releaseExecutable, "release")
    }
}
