// Keskar et al. (2017) sharpness against its first-order value: for a small box the maximum of
// f(x + y) - f(x) over |y_i| <= eps (|x_i| + 1) is sum_i |df/dx_i| eps (|x_i| + 1), reached at
// the corner sign(grad); and measuring must leave the weights exactly as they were.
import Collective
import Data
import NN
import Tensor
@testable import Training
import XCTest

final class SharpnessTests: XCTestCase {
    func testSmallBoxSharpnessEqualsTheFirstOrderMaximum() throws {
        let trainer = try trained(model: "mlp")
        let before = trainer.parameterChecksum
        let samples = 512
        let loss = referenceLoss(trainer, samples: samples)
        let eps = 1e-5
        var linearIncrease = 0.0
        for i in 0..<trainer.layout.count {
            let gradient = Double(trainer.gradients[i]) / Double(samples)
            linearIncrease += abs(gradient) * eps * (abs(Double(trainer.parameters.pointer[i])) + 1)
        }
        let expected = 100 * linearIncrease / (1 + loss)

        let measured = try XCTUnwrap(trainer.sharpness(epsilon: eps, samples: samples, steps: 1))
        XCTAssertEqual(measured, expected, accuracy: 0.05 * expected, "measured \(measured) vs first-order \(expected)")
        XCTAssertEqual(trainer.parameterChecksum, before, "weights restored bit for bit")

        // More ascent steps in a box 100x larger can only find a higher loss.
        XCTAssertGreaterThan(try XCTUnwrap(trainer.sharpness(epsilon: 1e-3, samples: samples, steps: 5)), measured)
        XCTAssertEqual(trainer.parameterChecksum, before)
    }

    func testRandomSubspaceSharpnessEqualsItsFirstOrderMaximumAndRestoresWeightsAndState() throws {
        // Keskar et al.'s Table 4 metric: y = A z, |z_j| <= eps (|(A^+ x)_j| + 1). For a small box the
        // maximum is sum_j |(A^T grad)_j| eps (|(A^+ x)_j| + 1), at the corner sign(A^T grad); on a
        // BatchNorm model, whose running statistics must come out unchanged with the weights.
        let trainer = try trained(model: "fc32-bn-relu-fc10")
        XCTAssertGreaterThan(trainer.state.count, 0)
        XCTAssertNotEqual(trainer.state.array.prefix(32), [Float](repeating: 0, count: 32)[...], "running means moved")
        let before = trainer.parameterChecksum   // parameters, then the BatchNorm state
        let n = trainer.layout.count, p = 100
        let samples = 512
        let loss = referenceLoss(trainer, samples: samples)
        let a = RandomSubspace(rows: n, columns: p, seed: trainer.config.settings.seed)
        let centre = a.pseudoInverseTimes(trainer.parameters.pointer)
        let eps = 1e-5
        var linearIncrease = 0.0
        for j in 0..<p {
            var h = 0.0
            for i in 0..<n { h += Double(a.entry(i, j)) * Double(trainer.gradients[i]) / Double(samples) }
            linearIncrease += abs(h) * eps * (abs(centre[j]) + 1)
        }
        let expected = 100 * linearIncrease / (1 + loss)

        let measured = try XCTUnwrap(trainer.sharpness(epsilon: eps, samples: samples, steps: 1, subspace: p))
        XCTAssertEqual(measured, expected, accuracy: 0.05 * expected, "measured \(measured) vs first-order \(expected)")
        XCTAssertEqual(trainer.parameterChecksum, before, "weights and BatchNorm state restored bit for bit")
        // The subspace sees less of the loss surface than the whole space (A = I) in the same box size.
        XCTAssertLessThan(measured, try XCTUnwrap(trainer.sharpness(epsilon: eps, samples: samples, steps: 1)))
        XCTAssertEqual(trainer.parameterChecksum, before)
    }

    func testRandomSubspaceIsSeededWithUnitColumnsAndItsPseudoInverseInvertsIt() {
        // A^+ (A z) = z for any z (A has full column rank); entries +-1/sqrt(n); the same seed, the same A.
        let n = 3000, p = 100
        let a = RandomSubspace(rows: n, columns: p, seed: 7), b = RandomSubspace(rows: n, columns: p, seed: 7)
        let other = RandomSubspace(rows: n, columns: p, seed: 8)
        XCTAssertEqual((0..<p).map { a.entry(17, $0) }, (0..<p).map { b.entry(17, $0) })
        XCTAssertNotEqual((0..<p).map { a.entry(17, $0) }, (0..<p).map { other.entry(17, $0) })
        XCTAssertEqual(abs(a.entry(5, 99)), 1 / Float(n).squareRoot())
        let column = (0..<n).map { Double(a.entry($0, 3)) }
        XCTAssertEqual(column.map { $0 * $0 }.reduce(0, +), 1, accuracy: 1e-5)
        let z = (0..<p).map { Float($0 % 7) - 3 }
        var y = [Float](repeating: 0, count: n)
        y.withUnsafeMutableBufferPointer { a.times(z, into: $0.baseAddress!) }
        let back = y.withUnsafeBufferPointer { a.pseudoInverseTimes($0.baseAddress!) }
        for j in 0..<p { XCTAssertEqual(back[j], Double(z[j]), accuracy: 1e-3) }
    }
}
