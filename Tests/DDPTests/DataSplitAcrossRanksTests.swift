// The data path through a real mpirun on 1, 2 and 3 ranks with accumulation: 7 samples in global
// batches of 6, so each epoch ends with a step of one sample that lands on one rank's first
// micro-batch (or on none of the others). Every split of the 6 must train on the same samples
// in every step, augmented alike: the same per-step loss and sample count in steps.csv, and the
// same parameters up to float summation order.
import Foundation
import TestSupport
import XCTest

final class DataSplitAcrossRanksTests: XCTestCase {
    struct Split {
        let ranks: Int, batchPerRank: Int, accumulate: Int
    }

    /// (samples, loss) of each step, and the final parameters, of one split.
    func train(_ folder: IDXFolder, _ split: Split, _ extra: [String]) throws -> (steps: [(Int, Double)], parameters: [String: [Float]]) {
        let dir = DDPProcess.temporaryFolder("split")
        let outcome = try DDPProcess.run(["train", "--data", folder.path, "--model", "mlp", "--hidden", "5", "--steps", "6",
                                          "--lr", "0.3", "--seed", "3", "--batch-per-rank", String(split.batchPerRank),
                                          "--accumulate", String(split.accumulate), "--run-dir", dir] + extra, ranks: split.ranks)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let rows = try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let steps = rows.map { row -> (Int, Double) in
            let fields = row.split(separator: ",")
            return (Int(fields[5])!, Double(fields[3])!)  // step,epoch,lr,loss,accuracy,samples,...
        }
        let model = try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors"))
        return (steps, try SafetensorsFile.decode(model))
    }

    func testEverySplitOfTheGlobalBatchTrainsOnTheSameSamples() throws {
        let folder = IDXFolder()
        folder.writeDataset(train: 7, test: 3, pixel: IDXFolder.scrambled)
        let splits = [Split(ranks: 1, batchPerRank: 6, accumulate: 1), Split(ranks: 3, batchPerRank: 2, accumulate: 1),
                      Split(ranks: 2, batchPerRank: 1, accumulate: 3), Split(ranks: 3, batchPerRank: 1, accumulate: 2)]
        for extra in [[], ["--augment", "crop:1,flip"]] {
            let reference = try train(folder, splits[0], extra)
            XCTAssertEqual(reference.steps.map(\.0), [6, 1, 6, 1, 6, 1], "7 samples: a full step, then the one left")
            for split in splits.dropFirst() {
                let other = try train(folder, split, extra)
                let what = "\(split.ranks) x \(split.batchPerRank) x \(split.accumulate) \(extra)"
                XCTAssertEqual(other.steps.map(\.0), reference.steps.map(\.0), what)
                for (a, b) in zip(other.steps, reference.steps) {
                    XCTAssertEqual(a.1, b.1, accuracy: 1e-5 * max(1, abs(b.1)), "per-step loss: \(what)")
                }
                for (name, values) in reference.parameters {
                    let scale = values.map(abs).max()!
                    let worst = zip(other.parameters[name]!, values).map { abs($0 - $1) }.max()!
                    XCTAssertLessThan(worst, 1e-5 * scale, "\(name): \(what)")
                }
            }
        }
    }
}
