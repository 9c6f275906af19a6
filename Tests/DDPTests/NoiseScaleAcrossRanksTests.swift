// The gradient noise scale measured by 2 ranks under mpirun against its exact value, B_simple =
// tr(Sigma) / |G|^2 over every per-example gradient (McCandlish et al. 2018, appendix A.1), taken
// in double precision by ReferenceNetwork at the run's weights (held still by a negligible rate).
// 1888 samples at 2 x 128 end every epoch with 96 samples, all on rank 0: one batch size, a step
// that must leave the estimate alone (Float(1/96) once slipped past the guard and jumped it).
import Foundation
import TestSupport
import XCTest

final class NoiseScaleAcrossRanksTests: XCTestCase {
    let (side, trainCount, classes, hidden) = (6, 1888, 10, 16)

    /// 100 epochs of the MLP on the scrambled set with its weights held still (a negligible rate),
    /// split as `split` over `ranks`; returns the run folder.
    func trainHeldStill(_ split: [String], ranks: Int) throws -> String {
        let folder = IDXFolder()
        folder.writeDataset(train: trainCount, test: 10, height: side, width: side, classes: classes, pixel: IDXFolder.scrambled)
        let dir = DDPProcess.temporaryFolder("noise")
        let outcome = try DDPProcess.run(["train", "--data", folder.path, "--model", "mlp", "--hidden", String(hidden)] + split
                                         + ["--epochs", "100", "--lr", "1e-12", "--momentum", "0", "--trace-steps", "none", "--run-dir", dir],
                                         ranks: ranks)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        return dir
    }

    func testTwoRankEstimateMatchesPerExampleValueAndSkipsOneBatchSizeSteps() throws {
        let dir = try trainHeldStill(["--batch-per-rank", "128"], ranks: 2)

        // Steps of 96 samples (one contributor, b = B) carry no information: the value stays.
        XCTAssertGreaterThan(Double(Float(1) / Float(96)), 1.0 / 96, "the case that once passed the guard")
        let rows = try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.count, 800)
        var shortSteps = 0
        for (previous, row) in zip(rows, rows.dropFirst()) where row[5] == "96" {
            XCTAssertEqual(row[6], previous[6], "step \(row[0]): one batch size must not move the estimate")
            shortSteps += 1
        }
        XCTAssertEqual(shortSteps, 100)

        let measured = try XCTUnwrap(DDPProcess.json(dir + "/summary.json")["gns"] as? Double)
        let weights = try SafetensorsFile.tensors(atPath: dir + "/model.safetensors").map(\.values)
        let network = ReferenceNetwork(layers: [.dense(inputs: side * side, outputs: hidden, relu: true),
                                                .dense(inputs: hidden, outputs: classes, relu: false)], tensors: weights)
        let exact = exactNoiseScale(network)
        XCTAssertGreaterThan(exact, 5, "a problem where the noise scale is worth measuring")
        XCTAssertEqual(measured, exact, accuracy: 0.05 * exact, "2 x 128: online B_simple \(measured) vs exact \(exact)")
    }

    func testThreeRanksWithAccumulationMatchPerExampleValue() throws {
        // 3 x 32 x 2 = 192: the small batch is each rank's first micro-batch (b = 32, k = 3), the big
        // one the step's 192; 1888 = 9 x 192 + 160 ends each epoch with 96 + 64 samples (b = 32, B = 160).
        let dir = try trainHeldStill(["--batch-per-rank", "32", "--accumulate", "2"], ranks: 3)
        let measured = try XCTUnwrap(DDPProcess.json(dir + "/summary.json")["gns"] as? Double)
        let weights = try SafetensorsFile.tensors(atPath: dir + "/model.safetensors").map(\.values)
        let network = ReferenceNetwork(layers: [.dense(inputs: side * side, outputs: hidden, relu: true),
                                                .dense(inputs: hidden, outputs: classes, relu: false)], tensors: weights)
        let exact = exactNoiseScale(network)
        XCTAssertEqual(measured, exact, accuracy: 0.05 * exact, "3 x 32 x 2: online B_simple \(measured) vs exact \(exact)")
    }

    /// tr(Sigma) / |G|^2 with tr(Sigma) the per-example gradients' variance over the training set.
    func exactNoiseScale(_ network: ReferenceNetwork) -> Double {
        let images = referenceImages(count: trainCount, pixelsPerImage: side * side)
        var sum: [Double] = []
        var sumOfSquaredNorms = 0.0
        for n in 0..<trainCount {
            let g = network.lossAndGradient(images: [images[n]], labels: [n % classes]).gradient.flatMap { $0.flatMap { $0 } }
            if sum.isEmpty { sum = [Double](repeating: 0, count: g.count) }
            for i in g.indices {
                sum[i] += g[i]
                sumOfSquaredNorms += g[i] * g[i]
            }
        }
        let n = Double(trainCount)
        let squaredNormOfMean = sum.reduce(0) { $0 + ($1 / n) * ($1 / n) }
        return (sumOfSquaredNorms / n - squaredNormOfMean) / squaredNormOfMean
    }
}

extension NoiseScaleAcrossRanksTests {
    /// One rank without accumulation has one batch size a step: the run says the noise scale is not
    /// measured, and summary.json and steps.csv hold no value; with --accumulate 2 it is measured.
    func testOneRankWithoutAccumulationSaysTheNoiseScaleIsNotMeasured() throws {
        let note = "  noise scale not measured: 1 rank without accumulation has one batch size a step (run on 2+ ranks or with --accumulate 2+)"
        for (accumulate, measured) in [("1", false), ("2", true)] {
            let dir = DDPProcess.temporaryFolder("noise-one-rank")
            let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "4", "--accumulate", accumulate,
                                              "--trace-steps", "none", "--run-dir", dir], ranks: 1)
            XCTAssertEqual(outcome.status, 0, outcome.all)
            XCTAssertEqual(outcome.stdout.split(separator: "\n").contains { $0 == note }, !measured, outcome.stdout)
            XCTAssertEqual(try DDPProcess.json(dir + "/summary.json")["gns"] is NSNull, !measured)
        }
    }
}
