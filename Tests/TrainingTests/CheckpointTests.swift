// The checkpoint format: a round trip keeps every value, and random damage to a valid file is
// always a thrown error, never a crash or a silently different checkpoint.
import Collective
import Tensor
@testable import Training
import XCTest

final class CheckpointTests: XCTestCase {
    func sample() -> Checkpoint {
        var settings = TrainConfig()
        settings.data = "synthetic"
        let state = CheckpointState(
            settings: settings, configHash: Checkpoint.configHash(settings), ranks: 2, layoutHash: "0123456789abcdef",
            epoch: 3, stepInEpoch: 7, step: 103, trainSeconds: 1.5, trainedSamples: 6592,
            progress: RunProgress(settings: settings), noiseScale: GradientNoiseScale(populationSize: 4096),
            optimizerCounters: [103], arrayLengths: [5, 5])
        return Checkpoint(state: state, arrays: [[1, -2, 3.5, .pi, 0], [0.25, 0, -0, 1e-30, 7]])
    }

    func testRoundTripKeepsEveryValue() throws {
        let bytes = try sample().encode()
        let back = try Checkpoint.decode(bytes, source: "memory")
        XCTAssertEqual(back.arrays.map { $0.map(\.bitPattern) }, sample().arrays.map { $0.map(\.bitPattern) })
        XCTAssertEqual(back.state.step, 103)
        XCTAssertEqual(back.state.stepInEpoch, 7)
        XCTAssertEqual(back.state.optimizerCounters, [103])
        XCTAssertEqual(back.state.configHash, Checkpoint.configHash(back.state.settings))
    }

    func testRandomDamageIsAlwaysAThrownError() throws {
        let good = try sample().encode()
        var rng = SplitMix64(seed: 11, stream: 0, index: 0)
        for trial in 0..<500 {
            var bytes = good
            switch trial % 4 {
            case 0: bytes[rng.below(bytes.count)] ^= UInt8(1 + rng.below(255))  // flip bits
            case 1: bytes.removeLast(1 + rng.below(bytes.count))                // truncate
            case 2: bytes.insert(UInt8(rng.below(256)), at: rng.below(bytes.count))
            default: bytes.removeSubrange(rng.below(bytes.count / 2)..<(bytes.count / 2 + rng.below(bytes.count / 2)))
            }
            XCTAssertThrowsError(try Checkpoint.decode(bytes, source: "mutant \(trial)"), "mutation \(trial) was accepted")
        }
    }

    /// A header whose array lengths overflow Int when summed (a valid checksum over a hostile file)
    /// is an error naming the mismatch, not an arithmetic-overflow trap.
    func testArrayLengthsThatOverflowAreAnError() throws {
        var hostile = sample()
        hostile.state.arrayLengths = [Int.max, 2]
        let bytes = try hostile.encode()
        XCTAssertThrowsError(try Checkpoint.decode(bytes, source: "hostile")) { error in
            XCTAssertTrue("\(error)".contains("its header describes 9.223372036854776e+18 floats but the file holds 10"), "\(error)")
        }
    }

    func testACheckpointOfAnotherModelOrOptimizerIsRefused() throws {
        var settings = TrainConfig()
        settings.data = "synthetic"
        let data = try Trainer.loadData(settings.data, seed: 1)
        let trainer = Trainer(config: try ResolvedConfig(settings, ranks: 1, data: data),
                              data: data, model: try Trainer.buildModel(settings, data: data), comm: LocalCommunicator())
        var good = trainer.checkpoint(epoch: 0, stepInEpoch: 0, step: 0, clock: RunClock(resuming: nil, start: 0), trainedSamples: 0,
                                      progress: RunProgress(settings: settings))
        XCTAssertNoThrow(try trainer.restore(good, source: "good"))

        var otherModel = good
        otherModel.state.layoutHash = "feedfacefeedface"
        XCTAssertThrowsError(try trainer.restore(otherModel, source: "other")) {
            XCTAssertTrue("\($0)".contains("is of another model"), "\($0)")
        }
        good.arrays.append([Float](repeating: 0, count: trainer.layout.count))  // Adam's second moment
        XCTAssertThrowsError(try trainer.restore(good, source: "adam")) {
            XCTAssertTrue("\($0)".contains("optimizer state of another shape"), "\($0)")
        }
    }
}
