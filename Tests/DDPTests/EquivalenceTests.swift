// The project's central test, through a real mpirun: the same global batch reached by ranks,
// by a bigger per-rank batch or by accumulation gives the same parameters after 20 steps, and
// every rank's checksum matches.
import Foundation
import XCTest

final class EquivalenceTests: XCTestCase {
    struct Run {
        let dir: String
        let parameters: [String: [Float]]
        let summary: [String: Any]
        let firstStepLoss: Double
        let finalTrainLoss: Double
    }

    func train(ranks: Int?, _ arguments: [String], steps: Int = 20, lr: String = "0.05") throws -> Run {
        let dir = DDPProcess.temporaryFolder("equiv")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--steps", String(steps), "--lr", lr,
                                          "--seed", "3", "--run-dir", dir] + arguments, ranks: ranks)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let model = try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors"))
        let steps = try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8).split(separator: "\n")
        let summary = try DDPProcess.json(dir + "/summary.json")
        return Run(dir: dir, parameters: try SafetensorsFile.decode(model), summary: summary,
                   firstStepLoss: Double(steps[1].split(separator: ",")[3])!,
                   finalTrainLoss: summary["train_loss"] as! Double)
    }

    /// max |a - b| / max |b| over every tensor.
    func relativeDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        var worst: Float = 0, scale: Float = 0
        for (name, values) in b {
            for (x, y) in zip(a[name]!, values) {
                worst = max(worst, abs(x - y))
                scale = max(scale, abs(y))
            }
        }
        return worst / scale
    }

    func testTwoRanksEqualOneRankWithDoubleBatchOrAccumulation() throws {
        let reference = try train(ranks: 1, ["--batch-per-rank", "64"])
        let twoRanks = try train(ranks: 2, ["--batch-per-rank", "32"])
        let accumulated = try train(ranks: 1, ["--batch-per-rank", "32", "--accumulate", "2"])
        let fourRanks = try train(ranks: 4, ["--batch-per-rank", "16"])
        // 32 per rank with micro-batches of at most 12: the largest divisor is 8, so 4 accumulation steps.
        let derived = try train(ranks: 2, ["--batch-per-rank", "12", "--global-batch", "64"])

        // Training happened: the loss fell from the first step.
        XCTAssertLessThan(reference.finalTrainLoss, 0.8 * reference.firstStepLoss)
        for (name, run) in [("2 x 32", twoRanks), ("1 x 32 x 2", accumulated), ("4 x 16", fourRanks), ("2 x 8 x 4 derived", derived)] {
            XCTAssertLessThan(relativeDifference(run.parameters, reference.parameters), 1e-4, name)
            XCTAssertEqual(run.summary["global_batch"] as? Int, 64, name)
        }
        XCTAssertEqual(derived.summary["accumulate"] as? Int, 4)
        XCTAssertEqual(derived.summary["batch_per_rank"] as? Int, 8)
        for (run, ranks) in [(twoRanks, 2), (fourRanks, 4)] {
            let checksums = run.summary["rank_checksums"] as! [String]
            XCTAssertEqual(checksums.count, ranks)
            XCTAssertEqual(Set(checksums).count, 1, "every rank holds the same parameters")
            XCTAssertEqual(checksums[0], run.summary["param_checksum"] as? String)
        }
    }

    /// The seed CNN after 10 steps: 2 ranks x 16 against 1 rank x 32.
    @discardableResult
    func checkCNNTwoRanksBy16EqualOneRankBy32(_ flags: [String], lr: String) throws -> Run {
        let cnn = ["--model", "cnn"] + flags
        let reference = try train(ranks: 1, cnn + ["--batch-per-rank", "32"], steps: 10, lr: lr)
        let twoRanks = try train(ranks: 2, cnn + ["--batch-per-rank", "16"], steps: 10, lr: lr)
        XCTAssertLessThan(reference.finalTrainLoss, reference.firstStepLoss)
        XCTAssertLessThan(relativeDifference(twoRanks.parameters, reference.parameters), 1e-4)
        XCTAssertEqual(Set(twoRanks.summary["rank_checksums"] as! [String]).count, 1)
        return twoRanks
    }

    func testCNNWithAdamTwoRanksBy16EqualOneRankBy32() throws {
        let twoRanks = try checkCNNTwoRanksBy16EqualOneRankBy32(["--optimizer", "adam"], lr: "0.0001")
        XCTAssertEqual(twoRanks.parameters["layers.0.weight"]?.count, 32 * 9)
    }

    func testCNNWithSGDTwoRanksBy16EqualOneRankBy32() throws {
        // Adam hardly reacts to a wrong gradient scale (dividing by the local count moved it 8e-8);
        // plain SGD moves by the scale itself.
        try checkCNNTwoRanksBy16EqualOneRankBy32(["--momentum", "0"], lr: "0.001")
    }

    func testOverlappedAllreduceGivesTheSameParametersBitForBit() throws {
        // The worker-thread allreduce with the next batch prefetched must not change a bit, across
        // epoch ends (64 steps an epoch here) and mid-epoch evaluations, which invalidate the prefetch.
        let common = ["--batch-per-rank", "32", "--evals-per-epoch", "3", "--accumulate", "2"]
        let plain = try train(ranks: 2, common, steps: 100)
        let overlapped = try train(ranks: 2, common + ["--overlap", "--bucket-kb", "0"], steps: 100)
        // The trainer falls back to the plain path when MPI grants less threading: say which ran.
        XCTAssertEqual(try DDPProcess.json(overlapped.dir + "/config.json")["overlap"] as? String, "thread")
        XCTAssertEqual(try DDPProcess.json(plain.dir + "/config.json")["overlap"] as? String, "off")
        XCTAssertEqual(overlapped.summary["param_checksum"] as? String, plain.summary["param_checksum"] as? String)
        XCTAssertEqual(overlapped.summary["test_acc"] as? Double, plain.summary["test_acc"] as? Double)
    }

    func testWithoutMPIRunsAsOneRankAndMatchesMpirunOneRank() throws {
        let plain = try train(ranks: nil, ["--batch-per-rank", "64"])
        let underMPI = try train(ranks: 1, ["--batch-per-rank", "64"])
        XCTAssertEqual(plain.summary["ranks"] as? Int, 1)
        // Same process count, same arithmetic: bit-identical.
        XCTAssertEqual(plain.summary["param_checksum"] as? String, underMPI.summary["param_checksum"] as? String)
    }
}

/// Reads model.safetensors the way numpy users do: header length, JSON header, raw F32.
enum SafetensorsFile {
    static func decode(_ data: Data) throws -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: try tensors(data).map { ($0.name, $0.values) })
    }

    /// Every tensor in file order (their order in the trainer's flat buffer).
    static func tensors(_ data: Data) throws -> [(name: String, shape: [Int], values: [Float])] {
        let bytes = [UInt8](data)
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as! [String: Any]
        let body = Array(bytes[(8 + length)...])
        var tensors: [(begin: Int, name: String, shape: [Int], values: [Float])] = []
        for (name, value) in header where name != "__metadata__" {
            let info = value as! [String: Any]
            XCTAssertEqual(info["dtype"] as? String, "F32")
            let offsets = info["data_offsets"] as! [Int]
            let shape = info["shape"] as! [Int]
            XCTAssertEqual(offsets[1] - offsets[0], 4 * shape.reduce(1, *))
            tensors.append((offsets[0], name, shape,
                            body[offsets[0]..<offsets[1]].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }))
        }
        return tensors.sorted { $0.begin < $1.begin }.map { ($0.name, $0.shape, $0.values) }
    }

    static func tensors(atPath path: String) throws -> [(name: String, shape: [Int], values: [Float])] {
        try tensors(Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
