// Layer.flops: a convolution and a dense layer counted by hand, and containers (Sequential,
// Residual, Model) summing their children plus their own elementwise work.
import NN
import XCTest

final class FlopCountTests: XCTestCase {
    func testConvolutionAndDenseAreCountedByHand() {
        let g = ConvGeometry(channels: 2, height: 5, width: 5, kernel: 3, stride: 1, same: true)
        let conv = Conv2D(geometry: g, filters: 4, activation: .relu)
        // 3 samples x 4 x 25 outputs = 300; each product 2 x 18 per output; bias and ReLU 300 each.
        XCTAssertEqual(conv.flops(batch: 3, inputGradient: true), PassFlops(forward: 10800 + 600, backward: 21600 + 600))
        XCTAssertEqual(conv.flops(batch: 3, inputGradient: false), PassFlops(forward: 10800 + 600, backward: 10800 + 600))
        let dense = Dense(inputSize: 50, outputSize: 7, activation: .none, bias: false)
        XCTAssertEqual(dense.flops(batch: 2, inputGradient: true), PassFlops(forward: 1400, backward: 2800))
    }

    func testContainersSumTheirChildren() throws {
        let model = try ModelSpec.build(ModelSpec.parse("resnet8"), channels: 1, height: 28, width: 28, classes: 10)
        let layers = (model.root as! Sequential).layers
        var children = PassFlops.zero
        for (i, layer) in layers.enumerated() { children = children + layer.flops(batch: 5, inputGradient: i > 0) }
        XCTAssertEqual(model.flops(batch: 5), children + PassFlops(forward: 6 * 5 * 10, backward: 0), "layers plus the loss")
        let block = layers[2] as! Residual   // res16: identity shortcut
        let own = Double(5 * block.outputSize)
        XCTAssertEqual(block.flops(batch: 5, inputGradient: true),
                       block.body.flops(batch: 5, inputGradient: true) + PassFlops(forward: 2 * own, backward: 2 * own))
        // The step is dominated by its convolutions: their products are within 10% of the total here.
        let products = model.matrixProducts(batch: 5).reduce(0) { $0 + $1.flops }
        XCTAssertGreaterThan(products, 0.9 * model.flops(batch: 5).total)
        XCTAssertLessThan(products, model.flops(batch: 5).total)
    }
}
