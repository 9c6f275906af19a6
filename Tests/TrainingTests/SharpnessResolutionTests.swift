// Sharpness where the rise of the loss is a few parts in 10^7 of it: the figure must still be its
// first-order value, not the rounding of the loss sums (Float sums resolve about 6e-8 of the loss:
// at eps 1e-4 below, a sharpness of 1.15e-5 read from them came out 7.1e-6).
import Collective
import Data
import NN
import Tensor
@testable import Training
import XCTest

final class SharpnessResolutionTests: XCTestCase {
    func testARiseOfAFewPartsIn10To7IsMeasuredToItsFirstOrderValue() throws {
        // A one-dimensional random subspace (p = 1): the rise is |a . grad| eps (|a^+ x| + 1), small
        // because a . grad is (a random unit vector); each weight still moves by ~1e-5 of itself.
        let trainer = try trained(model: "mlp")
        let before = trainer.parameterChecksum
        let (n, samples) = (trainer.layout.count, 4096)
        let loss = referenceLoss(trainer, samples: samples)
        let a = RandomSubspace(rows: n, columns: 1, seed: trainer.config.settings.seed)
        let centre = a.pseudoInverseTimes(trainer.parameters.pointer)[0]
        var projected = 0.0
        for i in 0..<n { projected += Double(a.entry(i, 0)) * Double(trainer.gradients[i]) / Double(samples) }
        for eps in [3e-4, 1e-4] {
            let rise = abs(projected) * eps * (abs(centre) + 1)
            let expected = 100 * rise / (1 + loss)
            XCTAssertLessThan(rise / loss, 1e-6, "a rise near single precision's resolution of the loss")
            let measured = try XCTUnwrap(trainer.sharpness(epsilon: eps, samples: samples, steps: 1, subspace: 1))
            XCTAssertEqual(measured, expected, accuracy: 0.03 * expected, "eps \(eps): measured \(measured) vs first-order \(expected)")
            XCTAssertEqual(trainer.parameterChecksum, before)
        }
    }

    func testTheSubspacesMemoryIsCountedForTheBudget() {
        // keskar-f1's 1.46 M parameters at p = 100: 23.4 MB of bits (rows padded to two 64-bit words, so
        // more than README's n p / 8 = 18 MB), 0.4 MB a row block,
        // 0.12 MB of Gram matrices. p = 50000 on the 101,770-parameter MLP: 30 GB of Gram matrices alone.
        XCTAssertEqual(RandomSubspace.bytes(rows: 1_460_000, columns: 100), 23_360_000 + 409_600 + 120_000)
        XCTAssertEqual(RandomSubspace.bytes(rows: 101_770, columns: 50_000), 30_841_473_120)
    }
}
