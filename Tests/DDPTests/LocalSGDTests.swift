// (Post-)local SGD through a real mpirun (Lin et al. 2020): with H = 1 it is synchronous SGD up
// to float rounding; with H > 1 the replicas differ before each averaging and agree after it (the
// run checks bit-identity after every averaging and fails otherwise); and a run resumed from a
// checkpoint, which is always taken at an averaging, ends bit for bit as the uninterrupted one.
import Foundation
import XCTest

final class LocalSGDTests: XCTestCase {
    // 4096 synthetic samples / (2 ranks x 32) = 64 steps an epoch, no short last batch; a BatchNorm
    // model so that the running statistics are averaged too; SGD with momentum 0.9.
    let common = ["--data", "synthetic", "--model", "fc32-bn-relu-fc10", "--batch-per-rank", "32", "--lr", "0.05", "--seed", "3"]

    func train(_ extra: [String], ranks: Int = 2, environment: [String: String] = [:]) throws -> (dir: String, outcome: Outcome) {
        let dir = DDPProcess.temporaryFolder("local")
        let outcome = try DDPProcess.run(["train"] + common + ["--run-dir", dir] + extra, ranks: ranks, environment: environment)
        return (dir, outcome)
    }

    func parameters(_ dir: String) throws -> [String: [Float]] {
        try SafetensorsFile.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors")))
    }

    /// max |a - b| / max |b| over every tensor (parameters and BatchNorm running statistics).
    func relativeDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        var worst: Float = 0, scale: Float = 0
        for (name, values) in b {
            for (x, y) in zip(a[name]!, values) { (worst, scale) = (max(worst, abs(x - y)), max(scale, abs(y))) }
        }
        return worst / scale
    }

    func testPeriodOneEqualsSynchronousSGDAndLongerPeriodsDoNot() throws {
        let sync = try train(["--steps", "64"])
        let h1 = try train(["--steps", "64", "--sync", "local:1"])
        let h8 = try train(["--steps", "64", "--sync", "local:8"])
        for run in [sync, h1, h8] { XCTAssertEqual(run.outcome.status, 0, run.outcome.all) }
        XCTAssertTrue(h1.outcome.stdout.contains("noise scale is measured in synchronous steps only"), h1.outcome.stdout)
        // SGD's update is linear in gradient and velocity, and BatchNorm's running statistics in the
        // group moments, so averaging parameters, velocity and state after every step is synchronous SGD
        // in exact arithmetic. Not bit for bit: each rank divides its own sum by 32 and the average halves
        // the sum of the two, where synchronous SGD divides the sum of 64 by 64 (float rounding, ~1e-7 a step).
        let (p, p1, p8) = (try parameters(sync.dir), try parameters(h1.dir), try parameters(h8.dir))
        XCTAssertNotNil(p["layers.1.running_mean"], "the BatchNorm state is compared too")
        let d1 = relativeDifference(p1, p), d8 = relativeDifference(p8, p)
        XCTAssertLessThan(d1, 1e-6, "H = 1 vs synchronous")
        XCTAssertGreaterThan(d8, 100 * d1, "H = 8 takes local steps between averages: another trajectory")

        // Every step of H = 1 ends in an averaging; with H = 8 every 8th. The replicas differed before each
        // (their shards differ), and the run's own check after each found them bit-identical (or it failed).
        for (run, count) in [(h1, 64), (h8, 8)] {
            let summary = try DDPProcess.json(run.dir + "/summary.json")
            let averagings = summary["local_averagings"] as! [String: Any]
            XCTAssertEqual(averagings["count"] as? Int, count)
            XCTAssertEqual(averagings["replicas_differed"] as? Int, count)
            XCTAssertEqual(Set(summary["rank_checksums"] as! [String]).count, 1)
        }
    }

    func testPostLocalSGDIsSynchronousFirst() throws {
        // local:8:1: epoch 1 synchronous (64 steps, no averaging), epoch 2 local: 8 averagings. Its first
        // epoch is the synchronous run's first epoch, bit for bit (same metrics row at step 64).
        let post = try train(["--steps", "128", "--sync", "local:8:1"])
        let sync = try train(["--steps", "128"])
        XCTAssertEqual(post.outcome.status, 0, post.outcome.all)
        let summary = try DDPProcess.json(post.dir + "/summary.json")
        XCTAssertEqual((summary["local_averagings"] as! [String: Any])["count"] as? Int, 8)
        XCTAssertEqual(summary["rule"] as? String, "none+local8after1")
        let firstRow: (String) throws -> Substring = { try String(contentsOfFile: $0 + "/metrics.csv", encoding: .utf8).split(separator: "\n")[1] }
        let fields: (Substring) -> [Substring] = { Array($0.split(separator: ",").prefix(8)) }
        XCTAssertEqual(fields(try firstRow(post.dir)), fields(try firstRow(sync.dir)))
        XCTAssertNotNil(summary["gns"] as? Double, "measured in the synchronous epoch")
    }

    func testResumeFromACheckpointMidPeriodEndsBitForBitAsTheUninterruptedRun() throws {
        // H = 7, checkpoints every 30 steps: the checkpoint at step 30 falls 2 steps into a period and
        // forces an averaging (so rank 0's file holds every rank's buffers). Rank 1 dies after step 45,
        // mid-period; the resumed run restarts the period at step 30 as the uninterrupted run did.
        let flags = ["--steps", "100", "--sync", "local:7", "--checkpoint-every", "30", "--optimizer", "adam", "--lr", "0.001"]
        let whole = try train(flags)
        XCTAssertEqual(whole.outcome.status, 0, whole.outcome.all)
        let cut = try train(flags, environment: ["DDP_FAULT": "kill:45:1"])
        XCTAssertNotEqual(cut.outcome.status, 0)
        let resumed = try DDPProcess.run(["train", "--resume", cut.dir], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("step 30"), resumed.stdout)
        XCTAssertEqual(try DDPProcess.json(cut.dir + "/summary.json")["param_checksum"] as? String,
                       try DDPProcess.json(whole.dir + "/summary.json")["param_checksum"] as? String)
    }

    func testABadSyncIsOneErrorBeforeMPIStarts() throws {
        let bad = try train(["--sync", "local:0"])
        XCTAssertNotEqual(bad.outcome.status, 0)
        XCTAssertEqual(bad.outcome.errorLines.count, 1, bad.outcome.all)
        XCTAssertTrue(bad.outcome.all.contains("local:H"), bad.outcome.all)
    }
}
