// The papers' remedies through the built ddp under mpirun: a plateau budget stops training where
// the rule says, and a sweep takes ghost batch sizes as an axis under a regime budget (equal steps).
import Foundation
import XCTest

final class RemedyTests: XCTestCase {
    func testPlateauBudgetStopsWhenTheLossNoLongerImproves() throws {
        // At lr 1e-7 the loss moves far less than 0.1% per epoch: epoch 1 sets the best, epochs 2 and 3
        // do not improve on it, so patience 2 stops after epoch 3 of at most 20 (64 steps per epoch).
        let dir = DDPProcess.temporaryFolder("plateau")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--lr", "1e-7", "--budget", "plateau:2:20",
                                          "--run-dir", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertTrue(outcome.stdout.contains("stopping after epoch 3 of at most 20"), outcome.stdout)
        let summary = try DDPProcess.json(dir + "/summary.json")
        XCTAssertEqual(summary["plateau_epoch"] as? Int, 3)
        XCTAssertEqual(summary["epochs"] as? Int, 3)
        XCTAssertEqual(summary["steps"] as? Int, 192)
        let rows = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 4, "a header and three epochs")

        // At a rate that trains, the loss keeps improving for 3 epochs: the maximum is reached, no plateau.
        let trains = DDPProcess.temporaryFolder("plateau-trains")
        let full = try DDPProcess.run(["train", "--data", "synthetic", "--lr", "0.01", "--budget", "plateau:2:3",
                                       "--run-dir", trains], ranks: 2)
        XCTAssertEqual(full.status, 0, full.all)
        let trained = try DDPProcess.json(trains + "/summary.json")
        XCTAssertNil(trained["plateau_epoch"] as? Int)
        XCTAssertEqual(trained["steps"] as? Int, 192)
    }

    func testGhostBatchIsASweepAxisAndRegimeGivesEqualSteps() throws {
        let dir = DDPProcess.temporaryFolder("sweep-ghost")
        let outcome = try DDPProcess.run(["sweep", "--data", "synthetic", "--model", "fc32-bn-relu-fc10", "--global-batch", "64,128",
                                          "--rules", "sqrt", "--ghost-batch", "8,16", "--budget", "regime:1", "--out", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertTrue(outcome.stdout.contains("4 runs (2 batches x 1 rules x 2 ghost batches x 1 seeds, regime:1)"), outcome.stdout)
        let lines = try String(contentsOfFile: dir + "/results.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5, lines.joined(separator: "\n"))
        let runs = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(Set(runs.map { $0[2] }), ["sqrt+gb8+regime", "sqrt+gb16+regime"])
        // One reference epoch of 4096 samples at batch 64 is 64 steps, at batch 64 and at batch 128 alike.
        XCTAssertEqual(Set(runs.map { $0[8] }), ["64"])
        let config = try DDPProcess.json(dir + "/b00128-sqrt+gb8+regime-s1/config.json")
        let resolved = config["config"] as! [String: Any]
        XCTAssertEqual(resolved["ghost_batch"] as? Int, 8)
        XCTAssertEqual(resolved["epochs"] as? Int, 2)

        // train takes one ghost batch: a list is refused before MPI starts, in one line.
        let refused = try DDPProcess.run(["train", "--data", "synthetic", "--model", "fc32-bn-fc10", "--ghost-batch", "8,16"], ranks: 2)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.errorLines.count, 1, refused.all)
    }

    func testSharpnessInARandomSubspaceIsRecordedBesideTheIdentityOne() throws {
        let dir = DDPProcess.temporaryFolder("sharp-sub")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "20", "--sharpness", "1e-3",
                                          "--sharpness-subspace", "100", "--sharpness-samples", "512", "--sharpness-steps", "3",
                                          "--hidden", "16", "--run-dir", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let summary = try DDPProcess.json(dir + "/summary.json")
        XCTAssertEqual(summary["sharpness_matrix"] as? String, "identity")
        let random = try XCTUnwrap(summary["sharpness_random"] as? Double)
        let identity = try XCTUnwrap(summary["sharpness"] as? Double)
        XCTAssertGreaterThan(random, 0)
        XCTAssertLessThan(random, identity, "a 100-dimensional slice of the same box finds less increase")
        XCTAssertTrue((summary["sharpness_random_matrix"] as? String ?? "").contains("x 100, entries +-1/sqrt(n), seed 1"), summary.description)

        let refused = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "2", "--sharpness-subspace", "100"], ranks: 2)
        XCTAssertEqual(refused.errorLines.count, 1, refused.all)
        XCTAssertTrue(refused.all.contains("needs --sharpness"), refused.all)
    }
}
