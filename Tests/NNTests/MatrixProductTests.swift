// The matrix products a layer declares are the ones it makes: FLOPs worked by hand for the MLP
// and the seed CNN, which `ddp bench` divides by the step time.
import NN
import Tensor
import XCTest

final class MatrixProductTests: XCTestCase {
    func testMLPProductsAndFlops() throws {
        // 784-128-10 at batch b: layer 1 forward and dW (2 x 2 b 128 784), layer 2 forward, dW and dx
        // (3 x 2 b 10 128): 4 x 100352 b + 6 x 1280 b = 409088 b.
        let model = try ModelSpec.build(ModelSpec.parse("mlp", hidden: [128], classes: 10), channels: 1, height: 28, width: 28, classes: 10)
        let products = model.matrixProducts(batch: 16)
        XCTAssertEqual(products.count, 5)
        XCTAssertEqual(products.reduce(0) { $0 + $1.flops }, 409088 * 16)
        XCTAssertEqual(products[0], GEMMShape(transposeB: true, m: 16, n: 128, k: 784))
    }

    func testSeedCNNProductsAndFlops() throws {
        // conv32k3 on 28x28: per sample forward and dW are 32 x 9 x 676 each (2 x 2 x 194688 FLOPs),
        // the forward one product over the chunk of 4 samples side by side, dW one per sample;
        // the first layer makes no dx. fc10 on 32 x 13 x 13 = 5408: forward, dW, dx = 3 x 2 x 54080.
        let model = try ModelSpec.build(ModelSpec.parse("cnn", hidden: [], classes: 10), channels: 1, height: 28, width: 28, classes: 10)
        let products = model.matrixProducts(batch: 4)
        XCTAssertEqual(products.reduce(0) { $0 + $1.flops }, 4 * (4 * 194688 + 6 * 54080))
        XCTAssertEqual(products[0], GEMMShape(m: 32, n: 4 * 676, k: 9))
        XCTAssertEqual(products[1], GEMMShape(transposeB: true, m: 32, n: 9, k: 676, count: 4))
    }
}
