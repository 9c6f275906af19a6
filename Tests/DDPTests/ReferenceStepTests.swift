// Whole optimizer steps through the built `ddp` (batch assembly, forward, loss, backward,
// allreduce, scaling by the global count, schedule, optimizer) against ReferenceNetwork's plain
// double-precision steps from the same initial weights (`--steps 0` writes them). The
// equivalence tests compare splits with each other; this one catches a bug every split shares.
// Data: 40 scrambled 6 x 6 images in IDX files, global batch 16, so every epoch ends with a short
// step of 8 (all on rank 0 at 2 x 8), 2 epochs, linear warmup over the first, SGD momentum 0.9.
// Float32 against Double agrees to about 3e-7 of the largest update here; bugs move it by 1e-3 or more.
// The BatchNorm model adds ghost groups of 4 (one micro-batch of 16 is four groups, so at 1 x 16 a
// wrong group size shows; 38 samples, so each epoch's short step of 6 ends with a group of 2), the
// running statistics, the evaluation with them, and weight decay by role. Normalising by a small
// group's standard deviation amplifies float rounding: a one-ulp change of the initial weights
// moves the double reference's weights by 2e-6 of their change (6e-7 with 40 samples and no group
// of 2), and the trainer agrees to 1.4e-5 (losses to 1e-6, running statistics to 3e-6), so the
// changes are held to 1e-4. Nine BatchNorm bugs tried by hand were all caught, the mildest (the
// shift decayed) moving the weights by 1.9e-3 and the losses by 4e-5; a wrong variance denominator
// in the running statistics, or a floored group count, shows only in those (by 9e-2 and 3e-2).
import Data
import Foundation
import TestSupport
import XCTest

final class ReferenceStepTests: XCTestCase {
    let (height, width, classes) = (6, 6, 10)
    let (seed, baseRate, referenceBatch, globalBatch, momentum, steps) = (7, 0.1, 8, 16, 0.9, 6)
    /// (ranks, batch per rank, accumulation): each gives the global batch of 16.
    let splits = [(1, 16, 1), (2, 8, 1), (1, 8, 2), (2, 4, 2)]

    func testMLPStepsMatchTheDoublePrecisionReference() throws {
        try check(["--model", "mlp", "--hidden", "8"], layers: [
            .dense(inputs: 36, outputs: 8, relu: true), .dense(inputs: 8, outputs: 10, relu: false),
        ])
    }

    func testCNNStepsMatchTheDoublePrecisionReference() throws {
        try check(["--model", "conv4k3-pool2-fc10"], layers: [
            .conv(channels: 1, height: 6, width: 6, filters: 4, kernel: 3),
            .pool(channels: 4, height: 4, width: 4, size: 2),
            .dense(inputs: 16, outputs: 10, relu: false),
        ])
    }

    /// BatchNorm after a convolution (per channel over 4 x 4 values) and after a dense layer (per
    /// feature), both fused with a ReLU; the layers before them have no bias. Weight decay 0.01 is
    /// large so that decaying a BatchNorm scale or shift, or a bias, would show. 38 samples: each
    /// epoch's last step has 6, ghost groups of 4 and 2 (at 2 x 4 x 2 one on each rank).
    func testBatchNormStepsMatchTheDoublePrecisionReference() throws {
        try check(["--model", "conv4k3-bn-relu-pool2-fc8-bn-relu-fc10"], layers: [
            .conv(channels: 1, height: 6, width: 6, filters: 4, kernel: 3, relu: false, bias: false),
            .batchNorm(channels: 4, spatial: 16, relu: true),
            .pool(channels: 4, height: 4, width: 4, size: 2),
            .dense(inputs: 16, outputs: 8, relu: false, bias: false),
            .batchNorm(channels: 8, spatial: 1, relu: true),
            .dense(inputs: 8, outputs: 10, relu: false),
        ], trainCount: 38, ghostBatch: 4, weightDecay: 0.01, tolerance: 1e-4)
    }

    /// The reference's step-by-step mean losses and rates, and its final parameters.
    struct Expected {
        var losses: [Double] = []
        var rates: [Double] = []
        var samples: [Int] = []
        var parameters: [[Double]] = []
        /// BatchNorm's running mean and variance after the steps, in file order.
        var state: [[Double]] = []
        /// The final weights' mean loss and accuracy over the whole training set.
        var trainLoss = 0.0, trainAccuracy = 0.0
    }

    /// `tolerance`: for the change of the weights and running statistics, relative to the largest.
    func check(_ model: [String], layers: [ReferenceNetwork.Layer], trainCount: Int = 40, ghostBatch: Int? = nil,
               weightDecay: Double = 0, tolerance: Double = 1e-5) throws {
        let folder = IDXFolder()
        folder.writeDataset(train: trainCount, test: 10, height: height, width: width, classes: classes, pixel: IDXFolder.scrambled)
        let weights = ["train", "--data", folder.path, "--seed", String(seed)] + model
        let common = weights + ["--lr", String(baseRate), "--reference-batch", String(referenceBatch), "--lr-scaling", "linear",
                                "--warmup-epochs", "1", "--momentum", String(momentum), "--trace-steps", "none"]
            + (ghostBatch.map { ["--ghost-batch", String($0)] } ?? []) + (weightDecay > 0 ? ["--weight-decay", String(weightDecay)] : [])
        let start = DDPProcess.temporaryFolder("reference-init")
        let initial = try DDPProcess.run(weights + ["--steps", "0", "--run-dir", start])
        XCTAssertEqual(initial.status, 0, initial.all)
        let initialTensors = try SafetensorsFile.tensors(atPath: start + "/model.safetensors").map(\.values)
        let expected = reference(layers: layers, initial: initialTensors, trainCount: trainCount, ghostBatch: ghostBatch ?? .max,
                                 weightDecay: weightDecay)

        for (ranks, perRank, accumulate) in splits {
            let name = "\(ranks) x \(perRank) x \(accumulate)"
            let dir = DDPProcess.temporaryFolder("reference")
            let outcome = try DDPProcess.run(common + ["--steps", String(steps), "--batch-per-rank", String(perRank),
                                                       "--accumulate", String(accumulate), "--run-dir", dir], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.all)
            guard outcome.status == 0 else { continue }  // the other splits still report
            let rows = try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8).split(separator: "\n").dropFirst()
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            XCTAssertEqual(rows.count, steps, name)
            var worstLoss = 0.0
            for (s, row) in rows.enumerated() where s < steps {
                worstLoss = max(worstLoss, abs(Double(row[3])! / expected.losses[s] - 1))
                XCTAssertEqual(Int(row[5]), expected.samples[s], "\(name) step \(s + 1): samples")
                XCTAssertEqual(Double(row[2])!, expected.rates[s], accuracy: 1e-6 * expected.rates[s], "\(name) step \(s + 1): rate")
                XCTAssertEqual(Double(row[3])!, expected.losses[s], accuracy: 1e-5 * expected.losses[s], "\(name) step \(s + 1): loss")
            }
            // The trained change of every weight (and of the running statistics) against the
            // reference's, relative to the largest.
            let final = try SafetensorsFile.tensors(atPath: dir + "/model.safetensors").map(\.values)
            XCTAssertEqual(final.map(\.count), (expected.parameters + expected.state).map(\.count), name)
            guard final.count == expected.parameters.count + expected.state.count else { continue }
            let (worst, scale) = largestDeviation(final.prefix(expected.parameters.count), initialTensors, expected.parameters)
            var agreement = "\(name): losses within \(worstLoss), weights' change within \(worst / scale) of the reference's"
            if !expected.state.isEmpty {
                let (worstState, scaleState) = largestDeviation(final.suffix(expected.state.count),
                                                                initialTensors.suffix(expected.state.count), expected.state)
                agreement += ", running statistics' within \(worstState / scaleState)"
                XCTAssertGreaterThan(scaleState, 1e-2, "the steps moved the running statistics")
                XCTAssertLessThan(worstState / scaleState, tolerance,
                                  "\(name): max |running statistics' change - reference's| / max |reference's change|")
            }
            print(agreement)
            // The evaluation after the last step: whole training set, sharded over ranks, summed.
            let summary = try DDPProcess.json(dir + "/summary.json")
            XCTAssertEqual(summary["train_loss"] as? Double ?? 0, expected.trainLoss, accuracy: 1e-5 * expected.trainLoss, name)
            XCTAssertEqual(summary["train_acc"] as? Double ?? -1, expected.trainAccuracy, accuracy: 1.0 / Double(trainCount), name)
            XCTAssertGreaterThan(scale, 1e-2, "the steps moved the weights")
            XCTAssertLessThan(worst / scale, tolerance, "\(name): max |update - reference update| / max |reference update|")
        }
    }

    /// (max |(final - initial) - (reference - initial)|, max |reference - initial|) over the tensors.
    func largestDeviation<A: Collection, B: Collection>(_ final: A, _ initial: B, _ reference: [[Double]]) -> (Double, Double)
        where A.Element == [Float], B.Element == [Float] {
        var worst = 0.0, scale = 0.0
        for (t, (trained, start)) in zip(final, initial).enumerated() {
            for i in trained.indices {
                let change = Double(trained[i]) - Double(start[i])
                let expected = reference[t][i] - Double(start[i])
                worst = max(worst, abs(change - expected))
                scale = max(scale, abs(expected))
            }
        }
        return (worst, scale)
    }

    /// `steps` plain SGD steps (PyTorch's form: g = grad + wd w on weights only, v = mu v + g,
    /// w -= lr v) on the mean loss over each global batch, whose members are those the sampler's
    /// one-rank permutation puts in it, in its order (BatchNorm's ghost groups are runs of it); the
    /// running statistics fold in once per step.
    func reference(layers: [ReferenceNetwork.Layer], initial: [[Float]], trainCount: Int, ghostBatch: Int, weightDecay: Double) -> Expected {
        let images = referenceImages(count: trainCount, pixelsPerImage: height * width)
        let labels = (0..<trainCount).map { $0 % classes }

        var network = ReferenceNetwork(layers: layers, tensors: initial, ghostBatch: ghostBatch)
        let decayed = layers.filter(\.trainable).map(\.decayed)
        var velocity = network.parameters.map { $0.map { $0.map { _ in 0.0 } } }
        var sampler = ShardedSampler(sampleCount: trainCount, seed: UInt64(seed), rank: 0, ranks: 1,
                                     batchPerRank: globalBatch, accumulation: 1)
        let stepsPerEpoch = (trainCount + globalBatch - 1) / globalBatch
        // Goyal et al. 2017: linear warmup per step from the base rate to base x global / reference.
        let peak = baseRate * Double(globalBatch) / Double(referenceBatch)
        var expected = Expected()
        for step in 0..<steps {
            if step % stepsPerEpoch == 0 { sampler.startEpoch(step / stepsPerEpoch) }
            let members = sampler.withIndices(step: step % stepsPerEpoch, micro: 0) { $0.map(Int.init) }
            let (loss, gradient, statistics) = network.lossAndGradient(images: members.map { images[$0] }, labels: members.map { labels[$0] })
            let count = Double(members.count)
            let rate = step < stepsPerEpoch ? baseRate + (peak - baseRate) * Double(step) / Double(stepsPerEpoch) : peak
            for t in network.parameters.indices {
                for k in network.parameters[t].indices {
                    for i in network.parameters[t][k].indices {
                        let decay = decayed[t][k] ? weightDecay * network.parameters[t][k][i] : 0
                        velocity[t][k][i] = momentum * velocity[t][k][i] + gradient[t][k][i] / count + decay
                        network.parameters[t][k][i] -= rate * velocity[t][k][i]
                    }
                }
            }
            network.foldRunningStatistics(statistics)
            expected.losses.append(loss / count)
            expected.rates.append(rate)
            expected.samples.append(members.count)
        }
        expected.parameters = network.parameters.flatMap { $0 }
        expected.state = network.state.flatMap { $0 }
        let evaluation = network.evaluate(images: images, labels: labels)
        expected.trainLoss = evaluation.loss / Double(trainCount)
        expected.trainAccuracy = Double(evaluation.correct) / Double(trainCount)
        return expected
    }
}
