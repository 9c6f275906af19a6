// `ddp bench` through a real mpirun: the figures file has one result per batch with the exact
// FLOP count of the step, phases that fit in the step, and weak scaling when asked. No speed is
// asserted (speed is for BENCHMARKS.md, measured on a quiet machine).
import Foundation
import XCTest

final class BenchCommandTests: XCTestCase {
    func testBenchWritesFiguresForEveryBatch() throws {
        let out = DDPProcess.temporaryFolder("bench") + ".json"
        let outcome = try DDPProcess.run(["bench", "--data", "synthetic", "--batches", "16,64", "--steps", "20", "--warmup", "2",
                                          "--scaling", "--out", out], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertTrue(outcome.stdout.contains("of ceiling"), outcome.stdout)
        let record = try DDPProcess.json(out)
        XCTAssertEqual(record["ranks"] as? Int, 2)
        XCTAssertEqual((record["peak_resident_mb"] as? [Double])?.count, 2)
        // The launch's allreduce alone, before the rows and after: one float, then the whole gradient
        // (MLP 784-128-10: 101,770 floats).
        for key in ["allreduce_alone", "allreduce_alone_after"] {
            let alone = try XCTUnwrap(record[key] as? [[String: Any]], "\(key): \(record)")
            XCTAssertEqual(alone.map { $0["bytes"] as? Int }, [4, 4 * 101_770], key)
            XCTAssertEqual(alone.map { $0["ranks"] as? Int }, [2, 2], key)
            XCTAssertTrue(alone.allSatisfy { ($0["seconds"] as? Double).map { $0 > 0 } ?? false }, "\(key): \(alone)")
        }
        let results = try XCTUnwrap(record["results"] as? [[String: Any]])
        XCTAssertEqual(results.map { $0["batch_per_rank"] as? Int }, [16, 64])
        for result in results {
            let b = result["batch_per_rank"] as! Int
            XCTAssertEqual(result["global_batch"] as? Int, 2 * b)
            XCTAssertEqual(result["flops_per_rank_step"] as? Double, Double(409680 * b), "MLP 784-128-10, hand-counted: products 409088, bias, ReLU and loss 592")
            XCTAssertEqual(result["gemm_flops_per_rank_step"] as? Double, Double(409088 * b), "the matrix products alone")
            XCTAssertEqual(result["fraction_of_peak"] as! Double, (result["achieved_gflops"] as! Double) / (record["peak_gflops"] as! Double), accuracy: 1e-9)
            let step = result["median_step_seconds"] as! Double
            XCTAssertEqual(result["samples_per_sec"] as! Double, Double(2 * b) / step, accuracy: 1e-6 * Double(2 * b) / step)
            let share = result["allreduce_share"] as! Double
            XCTAssertTrue(share > 0 && share < 1, "allreduce share \(share)")
            XCTAssertNotNil(result["weak_scaling_efficiency"] as? Double)
        }
        // The file is never overwritten.
        let again = try DDPProcess.run(["bench", "--data", "synthetic", "--out", out], ranks: 2)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertEqual(again.errorLines.count, 1, again.all)
    }

    /// Every batch is checked on every rank before anything is timed. netbench timed rank 0 alone
    /// first: a batch it refused (larger than the data) left the other rank in a barrier for good;
    /// bench found a batch too big for memory only after timing the ones before it.
    func testABatchOneCommandCannotRunIsRefusedBeforeTimingOnEveryRank() throws {
        let rank0 = "error: rank 0 on \(ProcessInfo.processInfo.hostName): "
        let refusals = [
            ("netbench", ["--data", "synthetic", "--batches", "32,100000"],
             rank0 + "batch per rank 100000: global batch 200000 is larger than the 4096 training samples"),
            ("bench", ["--data", "synthetic", "--model", "fc64-bn-fc10", "--ghost-batch", "3", "--batches", "6,32"],
             rank0 + "batch per rank 32: --ghost-batch 3 must divide the micro-batch per rank (32)")]
        for (command, flags, message) in refusals {
            let job = try RunningProcess.mpirun([command] + flags + ["--steps", "5", "--out", DDPProcess.temporaryFolder(command) + ".json"], ranks: 2)
            let outcome = try job.finish(within: 120)
            XCTAssertEqual(outcome.status, 1, outcome.all)
            XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
            XCTAssertTrue(outcome.errorLines.first?.hasPrefix(message) ?? false, outcome.all)
            XCTAssertFalse(outcome.stdout.contains("samples/s") || outcome.stdout.contains("allreduce over"), "nothing timed: \(outcome.stdout)")
        }
    }
}
