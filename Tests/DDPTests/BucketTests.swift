// Gradient buckets (--overlap --bucket-kb) through a real mpirun: the gradients leave in many
// buckets while backward runs, and after the steps the parameters, the loss and the noise scale
// are those of the single allreduce after backward, bit for bit (two ranks: each sum is one
// commutative addition). Cases cover BatchNorm moments, a residual block (whose inner layers
// finish out of layout order), accumulation, and a last batch that leaves a rank, or the last
// micro-batch of every rank, empty (the buckets are then posted without a backward pass).
import Foundation
import XCTest

final class BucketTests: XCTestCase {
    func train(_ arguments: [String]) throws -> (summary: [String: Any], overlap: String) {
        let dir = DDPProcess.temporaryFolder("buckets")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--seed", "5", "--lr", "0.05", "--run-dir", dir] + arguments, ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        return (try DDPProcess.json(dir + "/summary.json"), try DDPProcess.json(dir + "/config.json")["overlap"] as? String ?? "")
    }

    func checkBucketsMatchTheSingleAllreduce(_ flags: [String], minimumBuckets: Int) throws {
        let plain = try train(flags)
        let bucketed = try train(flags + ["--overlap", "--bucket-kb", "1"])
        XCTAssertEqual(plain.overlap, "off")
        // "buckets: N of >= 1 KB": the path really ran, in several pieces.
        let count = Int(bucketed.overlap.split(separator: " ").dropFirst().first ?? "") ?? 0
        XCTAssertTrue(bucketed.overlap.hasPrefix("buckets: ") && count >= minimumBuckets, bucketed.overlap)
        for key in ["param_checksum", "train_loss", "test_acc", "gns", "steps"] {
            XCTAssertEqual(String(describing: bucketed.summary[key] ?? "missing"), String(describing: plain.summary[key] ?? "missing"), key)
        }
        XCTAssertNotNil(plain.summary["gns"] as? Double, "the noise scale was measured")
    }

    func testBatchNormMLPWithARankEmptyInTheLastStep() throws {
        // 4096 samples, 2 x 40 a step: step 52 has 16 samples, all on rank 0; rank 1 posts its buckets unfilled.
        try checkBucketsMatchTheSingleAllreduce(["--model", "fc64-bn-relu-fc32-bn-relu-fc10", "--batch-per-rank", "40", "--steps", "55"],
                                                minimumBuckets: 3)
    }

    func testAccumulationWithAnEmptyLastMicroBatch() throws {
        // 2 x 48 x 2 a step: step 22 has 64 samples, all in the first micro-batch; only the last one's backward fills buckets.
        try checkBucketsMatchTheSingleAllreduce(["--model", "fc64-bn-relu-fc32-bn-relu-fc10", "--batch-per-rank", "48", "--accumulate", "2",
                                                 "--steps", "25"], minimumBuckets: 3)
    }

    func testResidualConvolutionNetwork() throws {
        try checkBucketsMatchTheSingleAllreduce(["--model", "conv4k3same-bn-relu-pool2-res4-res8s2-gap-fc10", "--batch-per-rank", "8",
                                                 "--momentum", "0.9", "--steps", "12"], minimumBuckets: 3)
    }
}
