// Finite-difference checks of the layers the papers' networks need: BatchNorm in training mode
// (dense and conv, with ghost groups, a short last group, a fused ReLU) and in a probe, a residual
// block with and without projection, global average pooling, dropout with a fixed mask. Each runs
// inside a model [linear Dense, layer..., linear Dense] through the summed softmax cross-entropy,
// so the leading Dense's gradients check the layers' input gradients too.
@testable import NN
import Tensor
import XCTest

final class LayerGradientTests: XCTestCase {
    struct Errors { var parameters = 0.0, input = 0.0 }

    /// Worst relative error of the analytic gradients against central differences (h = 2e-3).
    func worstErrors(_ middle: [Layer], batch: Int, context: PassContext, seed: UInt64, classes: Int = 3) -> Errors {
        let features = 4
        let layers: [Layer] = [Dense(inputSize: features, outputSize: middle[0].inputSize, activation: .none)] + middle
            + [Dense(inputSize: middle[middle.count - 1].outputSize, outputSize: classes, activation: .none)]
        let bound = BoundModel(Model(layers: layers), batch: batch, seed: seed)
        let (model, layout) = (bound.model, bound.model.layout)
        let (params, grads, state) = (bound.parameters, bound.gradients, bound.state)
        var rng = SplitMix64(seed: seed + 7)
        for i in 0..<params.count { params[i] += rng.uniform(-0.1, 0.1) }
        // Running statistics away from (0, 1), so a probe differs from the identity.
        for slice in layout.stateSlices {
            for i in slice.offset..<(slice.offset + slice.count) {
                state[i] = slice.name.hasSuffix("running_var") ? rng.uniform(0.5, 2) : rng.uniform(-0.3, 0.3)
            }
        }
        let x = (0..<(batch * features)).map { _ in rng.uniform(-1, 1) }
        let labels = (0..<batch).map { _ in Int32(rng.below(classes)) }
        func loss(_ gradient: Bool) -> Double {
            model.input.update(from: x, count: x.count)
            let logits = model.forward(batch: batch, context: context)
            return SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels, batch: batch, classes: classes,
                                                gradient: gradient ? model.outputGradient : nil).loss
        }
        grads.zero()
        _ = loss(true)
        model.backward(batch: batch, context: context)
        let analytic = grads.array
        XCTAssertGreaterThan(analytic.map { abs($0) }.max()!, 1e-3, "gradients are not all zero")
        var errors = Errors()
        let firstLayerEnd = layout.slices[1].offset + layout.slices[1].count
        func numeric(_ i: Int, _ h: Float) -> Double {
            let saved = params[i]
            params[i] = saved + h; let up = loss(false)
            params[i] = saved - h; let down = loss(false)
            params[i] = saved
            return (up - down) / Double(2 * h)
        }
        // Behind BatchNorm half the ReLU inputs sit near 0, and a perturbation of one parameter moves
        // every value of its group: a difference that crosses a kink is not a derivative. Such
        // points show as a central difference that changes with h; they are skipped and counted.
        var kinks = 0
        for i in 0..<analytic.count {
            let (wide, narrow) = (numeric(i, 2e-3), numeric(i, 1e-3))
            guard abs(wide - narrow) <= 2e-3 * max(1, abs(wide)) else {
                kinks += 1
                continue
            }
            let error = abs(narrow - Double(analytic[i])) / max(1, abs(narrow))
            if i < firstLayerEnd { errors.input = max(errors.input, error) } else { errors.parameters = max(errors.parameters, error) }
        }
        XCTAssertLessThan(Double(kinks), 0.1 * Double(analytic.count), "most parameters are checked")
        return errors
    }

    func training(batch: Int, ghost: Int) -> (PassContext, [Int32]) {
        let indices = (0..<batch).map { Int32($0 * 7 + 3) }
        return (PassContext(mode: .training, seed: 11, epoch: 2, ghostBatch: ghost), indices)
    }

    func assertSmall(_ e: Errors, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(e.parameters, 1e-2, "\(what): parameters", file: file, line: line)
        XCTAssertLessThan(e.input, 1e-2, "\(what): input gradient", file: file, line: line)
    }

    func testDenseBatchNormWithGhostGroupsMatchesFiniteDifferences() {
        // 7 samples in ghost groups of 3: groups of 3, 3 and a short last group of 1.
        for (ghost, relu) in [(3, false), (7, true), (2, true)] {
            let context = PassContext(mode: .training, ghostBatch: ghost)
            assertSmall(worstErrors([BatchNorm(shape: [5], activation: relu ? .relu : .none)], batch: 7, context: context, seed: 3),
                        "dense bn ghost \(ghost) relu \(relu)")
        }
    }

    func testConvBatchNormWithGhostGroupsMatchesFiniteDifferences() {
        let geometry = ConvGeometry(channels: 2, height: 4, width: 4, kernel: 3, stride: 1, same: true)
        let conv = Conv2D(geometry: geometry, filters: 3, activation: .none, bias: false)
        let bn = BatchNorm(shape: [3, 4, 4], activation: .relu)
        assertSmall(worstErrors([conv, bn], batch: 4, context: PassContext(mode: .training, ghostBatch: 2), seed: 5), "conv bn")
    }

    func testBatchNormProbeUsesRunningStatisticsAndMatchesFiniteDifferences() {
        assertSmall(worstErrors([BatchNorm(shape: [2, 3, 1], activation: .relu)], batch: 5, context: PassContext(mode: .probe), seed: 8),
                    "bn probe")
    }

    func testResidualBlocksMatchFiniteDifferences() throws {
        for (filters, stride) in [(2, 1), (3, 2)] {
            var builder = ModelSpec.Builder(shape: (2, 5, 5))
            try builder.residual(filters: filters, stride: stride)
            let block = builder.layers[0] as! Residual
            XCTAssertEqual(block.shortcut == nil, filters == 2 && stride == 1, "identity only when shape is kept")
            assertSmall(worstErrors(builder.layers, batch: 4, context: PassContext(mode: .training, ghostBatch: 2), seed: UInt64(9 + stride)),
                        "residual \(filters) stride \(stride)")
        }
    }

    func testGlobalAveragePoolMatchesFiniteDifferences() {
        assertSmall(worstErrors([GlobalAveragePool(channels: 3, height: 2, width: 3)], batch: 3, context: .evaluation, seed: 4), "gap")
    }

    func testDropoutWithAFixedMaskMatchesFiniteDifferences() {
        let (context, indices) = training(batch: 6, ghost: 6)
        indices.withUnsafeBufferPointer { pointer in
            var c = context
            c.sampleIndices = pointer.baseAddress
            assertSmall(worstErrors([Dropout(shape: [8], probability: 0.5, key: 0)], batch: 6, context: c, seed: 6), "dropout")
        }
    }

    func testDropoutMaskIsAFunctionOfSampleEpochAndLayerOnly() {
        let layer = Dropout(shape: [64], probability: 0.25, key: 1)
        layer.reserve(batch: 3, trainingBatch: 3)
        let x = [Float](repeating: 1, count: 3 * 64)
        func output(_ indices: [Int32], epoch: Int, key: Int = 1) -> [[Float]] {
            let layer = Dropout(shape: [64], probability: 0.25, key: key)
            layer.reserve(batch: indices.count, trainingBatch: indices.count)
            var y = [Float](repeating: 0, count: indices.count * 64)
            indices.withUnsafeBufferPointer {
                layer.forward(x, into: &y, batch: indices.count, context: PassContext(mode: .training, seed: 5, epoch: epoch, sampleIndices: $0.baseAddress))
            }
            return (0..<indices.count).map { Array(y[($0 * 64)..<(($0 + 1) * 64)]) }
        }
        let together = output([10, 20, 30], epoch: 0)
        // The same sample gets the same mask wherever it sits in a batch, and alone.
        XCTAssertEqual(output([30], epoch: 0)[0], together[2])
        XCTAssertEqual(output([20, 10], epoch: 0), [together[1], together[0]])
        XCTAssertNotEqual(output([10], epoch: 1)[0], together[0], "another epoch, another mask")
        XCTAssertNotEqual(output([10], epoch: 0, key: 2)[0], together[0], "another layer, another mask")
        // Inverted dropout: kept values are 1 / (1 - p), about 3 / 4 of them over 3 x 64.
        let values = together.flatMap { $0 }
        XCTAssertTrue(values.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3) < 1e-6 })
        let kept = Double(values.filter { $0 > 0 }.count) / Double(values.count)
        XCTAssertEqual(kept, 0.75, accuracy: 0.1)
        var y = [Float](repeating: 0, count: 3 * 64)
        layer.forward(x, into: &y, batch: 3, context: .evaluation)
        XCTAssertEqual(y, x, "evaluation passes values through")
    }

    func testBatchNormStatisticsAndRunningUpdateAgainstDirectComputation() {
        // x (N 4, C 2, S 3) in ghost groups of 2: each group normalised by its own biased moments;
        // the running statistics move 10% toward the mean over all samples and the pooled unbiased
        // within-group variance, once, in updateState.
        let bn = BatchNorm(shape: [2, 3, 1])
        bn.reserve(batch: 4, trainingBatch: 4)
        let params = FloatBuffer(count: 4), grads = FloatBuffer(count: 4), state = FloatBuffer(count: 4), moments = FloatBuffer(count: 4)
        bn.bind(LayerBinding(parameters: params.pointer, gradients: grads.pointer, state: state.pointer, moments: moments.pointer))
        var rng = SplitMix64(seed: 1)
        bn.initialize(&rng)
        params[0] = 2; params[1] = 0.5; params[2] = -1; params[3] = 0.25   // scale (2, 0.5), shift (-1, 0.25)
        let x: [Float] = (0..<24).map { Float(($0 * 37) % 11) - 5 }
        var y = [Float](repeating: 0, count: 24)
        bn.forward(x, into: &y, batch: 4, context: PassContext(mode: .training, ghostBatch: 2))
        var withinSquares = [0.0, 0.0], totals = [0.0, 0.0]
        for group in 0..<2 {
            for c in 0..<2 {
                let values = (0..<2).flatMap { n in (0..<3).map { Double(x[((group * 2 + n) * 2 + c) * 3 + $0]) } }
                let mean = values.reduce(0, +) / 6
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6
                withinSquares[c] += variance * 6
                totals[c] += values.reduce(0, +)
                for n in 0..<2 {
                    for s in 0..<3 {
                        let i = ((group * 2 + n) * 2 + c) * 3 + s
                        let expected = Double(params[c]) * (Double(x[i]) - mean) / (variance + 1e-5).squareRoot() + Double(params[2 + c])
                        XCTAssertEqual(Double(y[i]), expected, accuracy: 1e-4)
                    }
                }
            }
        }
        XCTAssertEqual(state.array, [0, 0, 1, 1], "forward leaves the running statistics alone")
        bn.updateState(samples: 4, groups: 2)
        for c in 0..<2 {
            XCTAssertEqual(Double(state[c]), 0.1 * totals[c] / 12, accuracy: 1e-5)
            XCTAssertEqual(Double(state[2 + c]), 0.9 + 0.1 * withinSquares[c] / (12 - 2), accuracy: 1e-5)
        }
        // Evaluation normalises with the running statistics.
        bn.forward(x, into: &y, batch: 4, context: .evaluation)
        let expected = Double(params[0]) * (Double(x[0]) - Double(state[0])) / (Double(state[2]) + 1e-5).squareRoot() + Double(params[2])
        XCTAssertEqual(Double(y[0]), expected, accuracy: 1e-5)
    }

    func testPresetsBuildTheirPapersShapes() throws {
        let resnet8 = try ModelSpec.build(try ModelSpec.parse("resnet8"), channels: 1, height: 28, width: 28, classes: 10)
        // conv 1->16 (144) + bn; block 16 (two 16x16x9 convs + 2 bn); block 32 s2 (16->32, 32->32, projection 16->32,
        // 3 bn); block 64 s2 (32->64, 64->64, projection 32->64, 3 bn); fc 64 -> 10.
        let expected8 = (144 + 32) + (2 * 2304 + 2 * 32) + (4608 + 9216 + 512 + 3 * 64) + (18432 + 36864 + 2048 + 3 * 128) + 650
        XCTAssertEqual(resnet8.layout.count, expected8)
        XCTAssertEqual(resnet8.layout.stateCount, 2 * (16 + 2 * 16 + 3 * 32 + 3 * 64))
        let rgb = try ModelSpec.build(try ModelSpec.parse("resnet8"), channels: 3, height: 32, width: 32, classes: 10)
        XCTAssertEqual(rgb.layout.count, expected8 + 2 * 144, "the first conv adapts to the input's channels")
        let resnet20 = try ModelSpec.build(try ModelSpec.parse("resnet20"), channels: 3, height: 32, width: 32, classes: 10)
        XCTAssertEqual(resnet20.layout.count, 272_474, "He et al.'s 0.27M (with 1 x 1 projections and BN)")
        let f1 = try ModelSpec.build(try ModelSpec.parse("keskar-f1"), channels: 1, height: 28, width: 28, classes: 10)
        XCTAssertEqual(f1.layout.count, 784 * 512 + 4 * 512 * 512 + 5 * 2 * 512 + 5130)
        XCTAssertEqual(f1.layout.slices.map(\.role).filter { $0 == .bias }.count, 1, "only the last fc keeps its bias")
        let c1 = try ModelSpec.build(try ModelSpec.parse("keskar-c1"), channels: 3, height: 32, width: 32, classes: 10)
        // 32 -same-> 32 -pool3s2-> 15 -> 15 -pool3s2-> 7: 64 * 7 * 7 = 3136 into fc384.
        XCTAssertEqual(c1.layout.count, 3 * 25 * 64 + 128 + 64 * 25 * 64 + 128 + 3136 * 384 + 768 + 384 * 192 + 384 + 1930)
        XCTAssertEqual(resnet8.layout.slices.first { $0.name.contains("body") }?.name, "layers.2.body.layers.0.weight")
        XCTAssertEqual(resnet8.layout.stateSlices.first?.name, "layers.1.running_mean")
        XCTAssertNil(try ModelSpec.preset("resnet9", hidden: [], classes: 10))
        // A depth the fuzzer found: its spec text alone was a 1e17-block allocation (a trap).
        XCTAssertEqual(try ModelSpec.parse("resnet60002").count, 3 + 3 * 10_000 + 2)  // conv-bn-relu, the blocks, gap, fc
        XCTAssertThrowsError(try ModelSpec.parse("resnet99999999999999998")) {
            XCTAssertEqual("\($0)", "resnet99999999999999998: resnetD presets go to D = 60002 (10000 blocks a stage)")
        }
        XCTAssertThrowsError(try ModelSpec.parse("conv8k3-bn-relu-res8s0-gap-fc10"))
        // Dropout probabilities outside [0, 1) are refused by name, 0.99999999 too: it is 1 as the
        // layer's Float (a precondition crashed every rank). 0 is allowed: the layer passes values through.
        for (token, message) in [("drop1", "got 1.0)"), ("drop1.5", "got 1.5)"), ("dropnan", "got nan)"),
                                 ("drop0.99999999", "got 0.99999999, which is 1 in the layer's Float)")] {
            XCTAssertThrowsError(try ModelSpec.parse("fc8-\(token)-fc10")) {
                XCTAssertEqual("\($0)", "\(token): a dropout probability must be at least 0 and below 1 (\(message)")
            }
        }
        XCTAssertEqual(try ModelSpec.parse("drop0-drop0.9999999-fc10"), [.dropout(0), .dropout(0.9999999), .dense(10)])
        // The spec written back (console, safetensors metadata) parses to the same layers: a small
        // rate was written "drop1e-05", and '-' splits tokens.
        for text in ["drop0.00001-fc10", "drop0.0000123456789-drop0.5-fc10", "drop0.000000000000000000001-fc10"] {
            let specs = try ModelSpec.parse(text)
            XCTAssertEqual(try ModelSpec.parse(ModelSpec.describe(specs)), specs, ModelSpec.describe(specs))
        }
        XCTAssertEqual(ModelSpec.describe(try ModelSpec.parse("fc8-drop0.00001-drop0.25-fc10")), "fc8-drop0.00001-drop0.25-fc10")
        // A 257th dropout layer would have drawn the first one's masks (8 bits of layer in the key).
        let drops = { (n: Int) in try ModelSpec.build(ModelSpec.parse(Array(repeating: "drop0.5", count: n).joined(separator: "-") + "-fc10"),
                                                      channels: 1, height: 2, width: 2, classes: 10) }
        XCTAssertEqual(try (drops(256).root as! Sequential).layers.compactMap { ($0 as? Dropout)?.key }, Array(0..<256))
        XCTAssertThrowsError(try drops(257)) {
            XCTAssertEqual("\($0)", "a model takes at most 256 dropout layers (each draws its own masks)")
        }
        XCTAssertThrowsError(try ModelSpec.build(try ModelSpec.parse("fc8-res8-fc10"), channels: 1, height: 4, width: 4, classes: 10)) {
            XCTAssertEqual("\($0)", "res8 does not fit its input 8 features (after fc or gap, no plane is left)")
        }
        XCTAssertThrowsError(try ModelSpec.build(try ModelSpec.parse("conv8k3same-gap-conv8k3-fc10"), channels: 1, height: 4, width: 4, classes: 10)) {
            XCTAssertEqual("\($0)", "conv8k3 does not fit its input 8 features (after fc or gap, no plane is left)")
        }
        XCTAssertThrowsError(try ModelSpec.build(try ModelSpec.parse("pool5-fc10"), channels: 2, height: 4, width: 6, classes: 10)) {
            XCTAssertEqual("\($0)", "pool5 does not fit its input 2x4x6")
        }
    }

    func testExplicitReLUTokensFuseAndLegacySpecsKeepTheirReLUs() throws {
        let legacy = try ModelSpec.build(try ModelSpec.parse("conv4k3-pool2-fc6-fc10"), channels: 1, height: 8, width: 8, classes: 10)
        let legacyLayers = (legacy.root as! Sequential).layers
        XCTAssertEqual((legacyLayers[0] as! Conv2D).activation, .relu)
        XCTAssertEqual((legacyLayers[2] as! Dense).activation, .relu)
        XCTAssertEqual((legacyLayers[3] as! Dense).activation, .none)
        let explicit = try ModelSpec.build(try ModelSpec.parse("conv4k3-bn-relu-pool2-relu-fc6-fc10"), channels: 1, height: 8, width: 8, classes: 10)
        let layers = (explicit.root as! Sequential).layers
        XCTAssertEqual(layers.count, 6, "conv, bn (relu fused), pool, relu, fc, fc")
        XCTAssertEqual((layers[0] as! Conv2D).activation, .none)
        XCTAssertFalse((layers[0] as! Conv2D).hasBias, "bn follows")
        XCTAssertEqual((layers[1] as! BatchNorm).activation, .relu)
        XCTAssertTrue(layers[3] is ReLU)
        XCTAssertEqual((layers[4] as! Dense).activation, .none, "explicit: no ReLU unless written")
        // Without relu tokens conv-bn is conv-relu-bn: bn's shift cannot stand in for the bias that
        // sets where the ReLU cuts, so the conv and the fc keep theirs (they had none: 4 + 6 fewer).
        let legacyBN = try ModelSpec.build(try ModelSpec.parse("conv4k3-bn-pool2-fc6-bn-fc10"), channels: 1, height: 8, width: 8, classes: 10)
        let legacyBNLayers = (legacyBN.root as! Sequential).layers
        XCTAssertEqual((legacyBNLayers[0] as! Conv2D).activation, .relu)
        XCTAssertTrue((legacyBNLayers[0] as! Conv2D).hasBias, "a ReLU comes between the conv and bn")
        XCTAssertEqual((legacyBNLayers[3] as! Dense).activation, .relu)
        XCTAssertTrue((legacyBNLayers[3] as! Dense).hasBias, "a ReLU comes between the fc and bn")
        XCTAssertEqual(legacyBN.layout.count, (36 + 4) + 2 * 4 + (36 * 6 + 6) + 2 * 6 + (6 * 10 + 10))
    }
}
