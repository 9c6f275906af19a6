// What a run records, against an independent recomputation: the final train and test loss and
// accuracy recomputed in Double from model.safetensors (ReferenceNetwork, the documented
// standardisation) equal summary.json and the last metrics.csv row; steps to target is the first
// evaluated step at or above it; evaluations fall where --evals-per-epoch puts them; every step is
// in steps.csv once, with the short last batch of each epoch; and a diverged and a skipped step are
// recorded as README says. Data: 40 scrambled 6 x 6 images (the test set is the first 20 of them),
// global batch 16 = 2 ranks x 4 x 2 accumulation, so each epoch is 16, 16 and a short 8.
import Foundation
import TestSupport
import XCTest

final class RunRecordTests: XCTestCase {
    let (trainCount, testCount, pixels) = (40, 20, 36)
    let layers: [ReferenceNetwork.Layer] = [.dense(inputs: 36, outputs: 8, relu: true), .dense(inputs: 8, outputs: 10, relu: false)]

    func dataset() -> String {
        let folder = IDXFolder()
        folder.writeDataset(train: trainCount, test: testCount, height: 6, width: 6, classes: 10, pixel: IDXFolder.scrambled)
        return folder.path
    }

    func train(_ flags: [String], data: String, environment: [String: String] = [:]) throws -> (dir: String, outcome: Outcome) {
        let dir = DDPProcess.temporaryFolder("run-record")
        let outcome = try DDPProcess.run(["train", "--data", data, "--model", "mlp", "--hidden", "8", "--seed", "7",
                                          "--batch-per-rank", "4", "--accumulate", "2", "--trace-steps", "none", "--run-dir", dir] + flags,
                                         ranks: 2, environment: environment)
        return (dir, outcome)
    }

    /// A CSV's rows as dictionaries by header name.
    func rows(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.dropFirst().map { line in
            Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
        }
    }

    func testFinalFiguresEqualARecomputationFromTheSavedWeights() throws {
        let (dir, outcome) = try train(["--epochs", "4", "--evals-per-epoch", "2", "--lr", "0.2", "--target", "0.2"], data: dataset())
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let summary = try DDPProcess.json(dir + "/summary.json")

        // Independent: the saved weights over the whole sets, in Double.
        let network = ReferenceNetwork(layers: layers, tensors: try SafetensorsFile.tensors(atPath: dir + "/model.safetensors").map(\.values))
        let images = referenceImages(count: trainCount, pixelsPerImage: pixels)
        let labels = (0..<trainCount).map { $0 % 10 }
        let train = network.evaluate(images: images, labels: labels)
        let test = network.evaluate(images: Array(images.prefix(testCount)), labels: Array(labels.prefix(testCount)))
        let expected = ["train_loss": train.loss / Double(trainCount), "train_acc": Double(train.correct) / Double(trainCount),
                        "test_loss": test.loss / Double(testCount), "test_acc": Double(test.correct) / Double(testCount)]
        for (key, value) in expected {
            // Float32 forward against Double: losses to 1e-5; an accuracy is a count (1 sample of slack for a near tie).
            let slack = key.hasSuffix("loss") ? 1e-5 * value : 1.0 / Double(key.hasPrefix("train") ? trainCount : testCount)
            XCTAssertEqual(summary[key] as? Double ?? .nan, value, accuracy: slack, key)
        }
        XCTAssertEqual(summary["gap"] as? Double ?? .nan, (summary["train_acc"] as! Double) - (summary["test_acc"] as! Double), accuracy: 1e-12)

        // Evaluations: 3 steps an epoch, 2 evaluations each at steps ceil(3 / 2) = 2 and 3.
        let metrics = try rows(dir + "/metrics.csv")
        XCTAssertEqual(metrics.map { Int($0["step"]!)! }, [2, 3, 5, 6, 8, 9, 11, 12])
        XCTAssertEqual(metrics.map { $0["epoch"]! }, ["0.667", "1", "1.667", "2", "2.667", "3", "3.667", "4"])
        let last = try XCTUnwrap(metrics.last)
        for key in ["train_loss", "train_acc", "test_loss", "test_acc"] {
            XCTAssertEqual(Double(last[key]!)!, summary[key] as! Double, accuracy: 5e-7, "metrics.csv's last row: \(key)")
        }
        let accuracies = metrics.map { Double($0["test_acc"]!)! }
        XCTAssertEqual(summary["best_test_acc"] as? Double ?? .nan, accuracies.max()!, accuracy: 5e-7)
        // Steps to target: the first evaluated step at or above it (not the first evaluation here).
        let first = try XCTUnwrap(metrics.first { Double($0["test_acc"]!)! >= 0.2 }, "the run reaches 0.2")
        XCTAssertNotEqual(first["step"], metrics[0]["step"])
        XCTAssertEqual(summary["steps_to_target"] as? Int, Int(first["step"]!))

        // Every step once, the last of each epoch short (8 of 40), the rate each used.
        let steps = try rows(dir + "/steps.csv")
        XCTAssertEqual(steps.map { Int($0["step"]!)! }, Array(1...12))
        XCTAssertEqual(steps.map { Int($0["samples"]!)! }, Array(repeating: [16, 16, 8], count: 4).flatMap { $0 })
        XCTAssertEqual(steps.map { Int($0["epoch"]!)! }, [1, 2, 3, 4].flatMap { [$0, $0, $0] })
        XCTAssertEqual(summary["steps"] as? Int, 12)
        XCTAssertEqual(summary["skipped_steps"] as? Int, 0)
        let imbalance = try rows(dir + "/imbalance.csv")
        XCTAssertEqual(imbalance.map { Int($0["straggler_steps"]!)! }.reduce(0, +), 12, "each step has one last arrival")
    }

    /// A step skipped under --on-nan skip: its loss and accuracy fields empty, counted from its
    /// evaluation on, the run otherwise complete; without skip the run stops there, naming the rank.
    func testSkippedAndStoppedNonFiniteStepsAreRecordedWhereTheyHappened() throws {
        let data = dataset()
        let common = ["--epochs", "2", "--evals-per-epoch", "3", "--lr", "0.2"]
        let (dir, outcome) = try train(common + ["--on-nan", "skip"], data: data, environment: ["DDP_FAULT": "nan:4:1"])
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let steps = try rows(dir + "/steps.csv")
        XCTAssertEqual(steps.map { Int($0["step"]!)! }, Array(1...6))
        XCTAssertEqual(steps.filter { $0["loss"]!.isEmpty }.map { $0["step"]! }, ["4"])
        XCTAssertEqual(steps[3]["accuracy"], "", "a skipped step has no accuracy either")
        let metrics = try rows(dir + "/metrics.csv")
        XCTAssertEqual(metrics.map { Int($0["step"]!)! }, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(metrics.map { Int($0["skipped_steps"]!)! }, [0, 0, 0, 1, 1, 1])
        let summary = try DDPProcess.json(dir + "/summary.json")
        XCTAssertEqual(summary["skipped_steps"] as? Int, 1)
        XCTAssertEqual(summary["diverged"] as? Bool, false)

        let (stopped, halted) = try train(common, data: data, environment: ["DDP_FAULT": "nan:4:1"])
        XCTAssertEqual(halted.status, 1, halted.all)
        XCTAssertEqual(halted.errorLines.count, 1, halted.all)
        XCTAssertTrue(halted.all.contains("non-finite loss or gradient at step 4 on rank 1"), halted.all)
        let record = try DDPProcess.json(stopped + "/summary.json")
        XCTAssertEqual(record["diverged_step"] as? Int, 4)
        XCTAssertEqual(record["non_finite_rank"] as? Int, 1)
        // The figures are those of the last evaluation, step 3's, not made up for step 4.
        let evaluated = try XCTUnwrap(try rows(stopped + "/metrics.csv").last)
        XCTAssertEqual(evaluated["step"], "3")
        XCTAssertEqual(record["test_loss"] as? Double ?? .nan, Double(evaluated["test_loss"]!)!, accuracy: 5e-7)
    }

    /// A loss grown past --divergence-factor: diverged at the first step whose steps.csv loss is over
    /// the factor times step 1's, one error line, exit 1, and nothing evaluated after it.
    func testDivergedRunRecordsTheFirstStepOverTheFactor() throws {
        let (dir, outcome) = try train(["--epochs", "3", "--evals-per-epoch", "3", "--lr", "300", "--divergence-factor", "3"], data: dataset())
        XCTAssertEqual(outcome.status, 1, outcome.all)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
        let summary = try DDPProcess.json(dir + "/summary.json")
        let steps = try rows(dir + "/steps.csv")
        let losses = steps.map { Double($0["loss"]!) ?? .infinity }
        let over = try XCTUnwrap(losses.firstIndex { !$0.isFinite || $0 > 3 * losses[0] }, "the loss grows past 3x")
        XCTAssertEqual(summary["diverged"] as? Bool, true)
        XCTAssertEqual(summary["diverged_step"] as? Int, over + 1)
        XCTAssertEqual(summary["steps"] as? Int, over + 1)
        XCTAssertEqual(steps.count, over + 1, "training stopped at the diverged step")
        let evaluated = FileManager.default.fileExists(atPath: dir + "/metrics.csv") ? try rows(dir + "/metrics.csv") : []
        XCTAssertTrue(evaluated.allSatisfy { Int($0["step"]!)! < over + 1 }, "\(evaluated)")
        if evaluated.isEmpty { XCTAssertTrue(summary["test_acc"] is NSNull, "never evaluated: null") }
    }
}
