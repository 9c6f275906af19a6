// The central property for the papers' networks, through a real mpirun: a model with BatchNorm
// (ghost batches), a residual block with projection and dropout, on augmented data, gives the same parameters AND
// running statistics whether its global batch of 32 is 1 x 32, 2 x 16 or 1 x 16 x 2 accumulation;
// and a BatchNorm run killed mid-epoch resumes to the uninterrupted checksum.
import Foundation
import XCTest

final class ModelEquivalenceTests: XCTestCase {
    let model = ["--model", "conv8k3same-bn-relu-res8-res16s2-gap-drop0.25-fc10", "--ghost-batch", "8", "--augment", "crop:4,flip"]

    func run(ranks: Int, _ arguments: [String], steps: Int = 10) throws -> (parameters: [String: [Float]], summary: [String: Any]) {
        let dir = DDPProcess.temporaryFolder("bn-equiv")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--steps", String(steps), "--lr", "0.05",
                                          "--seed", "5", "--run-dir", dir] + model + arguments, ranks: ranks)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let tensors = try SafetensorsFile.decode(try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors")))
        return (tensors, try DDPProcess.json(dir + "/summary.json"))
    }

    /// max |a - b| / max |b| over the tensors whose names satisfy `include`.
    func relative(_ a: [String: [Float]], _ b: [String: [Float]], _ include: (String) -> Bool) -> Float {
        var worst: Float = 0, scale: Float = 0
        for (name, values) in b where include(name) {
            for (x, y) in zip(a[name]!, values) {
                worst = max(worst, abs(x - y))
                scale = max(scale, abs(y))
            }
        }
        return worst / scale
    }

    func testBatchNormResidualDropoutModelIsIndependentOfTheSplit() throws {
        let reference = try run(ranks: 1, ["--batch-per-rank", "32"])
        let isState: (String) -> Bool = { $0.hasSuffix("running_mean") || $0.hasSuffix("running_var") }
        XCTAssertEqual(reference.parameters.keys.filter(isState).count, 2 * 6, "six BatchNorm layers' running statistics")
        // Ten steps moved the running statistics away from their initial (0, 1).
        XCTAssertGreaterThan(reference.parameters["layers.1.running_mean"]!.map { abs($0) }.max()!, 1e-3)
        for (ranks, arguments, name) in [(2, ["--batch-per-rank", "16"], "2 x 16"),
                                         (1, ["--batch-per-rank", "16", "--accumulate", "2"], "1 x 16 x 2")] {
            let other = try run(ranks: ranks, arguments)
            XCTAssertLessThan(relative(other.parameters, reference.parameters) { !isState($0) }, 1e-4, "\(name): parameters")
            XCTAssertLessThan(relative(other.parameters, reference.parameters) { $0.hasSuffix("running_mean") }, 1e-4, "\(name): running means")
            XCTAssertLessThan(relative(other.parameters, reference.parameters) { $0.hasSuffix("running_var") }, 1e-4, "\(name): running variances")
            XCTAssertEqual(Set(other.summary["rank_checksums"] as! [String]).count, 1, "\(name): replicas identical, state included")
        }
    }

    func testGhostBatchMustDivideTheMicroBatchAndNeedsBatchNorm() throws {
        let bad = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "1", "--batch-per-rank", "12", "--run-dir",
                                      DDPProcess.temporaryFolder("ghost")] + model, ranks: 2)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("--ghost-batch 8 must divide the micro-batch per rank (12)"), bad.all)
        XCTAssertEqual(bad.stderr.components(separatedBy: "error:").count - 1, 1, "one error line, from one rank: \(bad.stderr)")
        let noBatchNorm = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "1", "--ghost-batch", "8", "--run-dir",
                                              DDPProcess.temporaryFolder("ghost")], ranks: 1)
        XCTAssertEqual(noBatchNorm.status, 1)
        XCTAssertTrue(noBatchNorm.stderr.contains("--ghost-batch 8 has no effect: model mlp has no BatchNorm"), noBatchNorm.all)
    }

    func testBatchNormRunKilledMidEpochResumesBitForBit() throws {
        // 4096 samples / (2 x 32) = 64 steps an epoch; checkpoints every 10 steps; rank 1 dies after step 25.
        let flags = ["train", "--data", "synthetic", "--steps", "40", "--batch-per-rank", "32", "--checkpoint-every", "10",
                     "--seed", "2"] + model
        let whole = DDPProcess.temporaryFolder("bn-whole"), cut = DDPProcess.temporaryFolder("bn-cut")
        let uninterrupted = try DDPProcess.run(flags + ["--run-dir", whole], ranks: 2)
        XCTAssertEqual(uninterrupted.status, 0, uninterrupted.all)
        let killed = try DDPProcess.run(flags + ["--run-dir", cut], ranks: 2, environment: ["DDP_FAULT": "kill:25:1"])
        XCTAssertNotEqual(killed.status, 0)
        let resumed = try DDPProcess.run(["train", "--resume", cut], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("step 20"), resumed.stdout)
        let a = try DDPProcess.json(whole + "/summary.json"), b = try DDPProcess.json(cut + "/summary.json")
        XCTAssertEqual(b["param_checksum"] as? String, a["param_checksum"] as? String, "parameters and running statistics, bit for bit")
    }
}
