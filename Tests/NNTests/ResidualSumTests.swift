// A residual block whose body ends in a BatchNorm without activation folds y = relu(body(x) +
// shortcut(x)) into that BatchNorm's normalising pass (Sequential.residualSumFolder): the same bits
// as the body's output summed after it, in training, evaluation and a probe, with the identity and
// with a projection; a body that ends otherwise is not folded.
@testable import NN
import Tensor
import XCTest

final class ResidualSumTests: XCTestCase {
    func body(_ channels: Int, _ filters: Int, stride: Int, last: Layer? = nil) -> Sequential {
        let out = 8 / stride
        return Sequential(layers: [Conv2D(geometry: ConvGeometry(channels: channels, height: 8, width: 8, kernel: 3, stride: stride, same: true),
                                          filters: filters, activation: .none),
                                   BatchNorm(shape: [filters, out, out], activation: .relu),
                                   Conv2D(geometry: ConvGeometry(channels: filters, height: out, width: out, kernel: 3, stride: 1, same: true),
                                          filters: filters, activation: .none),
                                   last ?? BatchNorm(shape: [filters, out, out])])
    }

    func testTheSumFoldedIntoTheLastBatchNormEqualsTheSumAfterIt() {
        let projection = Sequential(layers: [Conv2D(geometry: ConvGeometry(channels: 8, height: 8, width: 8, kernel: 1, stride: 2, same: true),
                                                    filters: 16, activation: .none),
                                             BatchNorm(shape: [16, 4, 4])])
        for (chain, shortcut, label) in [(body(16, 16, stride: 1), nil as Sequential?, "identity"), (body(8, 16, stride: 2), projection, "projection")] {
            XCTAssertNotNil(chain.residualSumFolder, label)
            let block = Residual(body: chain, shortcut: shortcut)
            let batch = 3
            let bound = BoundModel(Model(layers: [block]), batch: batch, seed: 21)
            var rng = SplitMix64(seed: 22)
            for i in 0..<bound.parameters.count { bound.parameters[i] += rng.uniform(-0.2, 0.2) }
            for slice in bound.model.layout.stateSlices where slice.name.hasSuffix("running_var") {
                for i in slice.offset..<(slice.offset + slice.count) { bound.state[i] = rng.uniform(0.5, 2) }
            }
            let x = (0..<(batch * block.inputSize)).map { _ in rng.uniform(-1, 1) }
            for mode in [PassMode.training, .evaluation, .probe] {
                let context = PassContext(mode: mode, ghostBatch: 2)
                var folded = [Float](repeating: .nan, count: batch * block.outputSize)
                block.forward(x, into: &folded, batch: batch, context: context)
                var sum = [Float](repeating: 0, count: batch * block.outputSize), other = x
                chain.forward(x, into: &sum, batch: batch, context: context)
                if let shortcut {
                    other = [Float](repeating: 0, count: sum.count)
                    shortcut.forward(x, into: &other, batch: batch, context: context)
                }
                let expected = zip(sum, other).map { pair -> Float in let v = pair.0 + pair.1; return v < 0 ? 0 : v }
                XCTAssertEqual(folded, expected, "\(label), \(mode): relu(body + shortcut) bit for bit")
                XCTAssertTrue(folded.contains(0) && folded.contains { $0 > 0 }, "\(label), \(mode): the ReLU cuts some and passes others")
            }
        }
        XCTAssertNil(body(16, 16, stride: 1, last: BatchNorm(shape: [16, 8, 8], activation: .relu)).residualSumFolder,
                     "a BatchNorm with its own ReLU")
        XCTAssertNil(body(16, 16, stride: 1, last: ReLU(shape: [16, 8, 8])).residualSumFolder, "a body that ends in another layer")
        XCTAssertNil(Sequential(layers: [BatchNorm(shape: [6])]).residualSumFolder, "a BatchNorm on features")
    }
}
