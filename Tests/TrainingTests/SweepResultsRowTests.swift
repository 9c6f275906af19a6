// results.csv's row of a sweep point, from the point's summary: the sharpness figures keep their
// significant digits (fixed "%.4f" wrote Keskar's random-subspace sharpness 0.00383917 as 0.0038,
// and a figure below 5e-5 as 0.0000, a zero that was never measured).
import Foundation
import XCTest
@testable import Training

final class SweepResultsRowTests: XCTestCase {
    func summary(sharpness: String, sharpnessRandom: String) throws -> RunSummary {
        let json = """
        {"run_dir": "b00064-none-s1", "data": "synthetic", "ranks": 2, "hosts": ["h"], "global_batch": 64, "batch_per_rank": 32,
         "accumulate": 1, "epochs": 1, "steps": 10, "rule": "none", "optimizer": "sgd", "seed": 1, "peak_lr": 0.01,
         "warmup_epochs": 0, "train_acc": 0.5, "test_acc": 0.25, "gap": 0.25, "train_loss": 1.5, "test_loss": 2, "loss_gap": 0.5,
         "best_test_acc": 0.3, "target": null, "steps_to_target": null, "diverged": false, "diverged_step": null,
         "non_finite_rank": null, "skipped_steps": 0, "gns": 123.456, "sharpness": \(sharpness), "samples_per_sec": 100,
         "train_seconds": 1, "wall_seconds": 2, "param_checksum": "0", "rank_checksums": ["0"], "blas_core": "x",
         "sharpness_random": \(sharpnessRandom)}
        """
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RunSummary.self, from: Data(json.utf8))
    }

    func cells(_ s: RunSummary) -> [String: String] {
        let header = Sweep.resultsHeader.split(separator: ",").map(String.init)
        let row = Sweep.resultsRow("b00064-none-s1", s).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(row.count, header.count)
        return Dictionary(uniqueKeysWithValues: zip(header, row))
    }

    func testSharpnessKeepsSixSignificantDigits() throws {
        let row = cells(try summary(sharpness: "1622.65123", sharpnessRandom: "0.00383917"))
        XCTAssertEqual(row["sharpness"], "1622.65")
        XCTAssertEqual(row["sharpness_random"], "0.00383917")
        let tiny = cells(try summary(sharpness: "0.0000123456789", sharpnessRandom: "null"))
        XCTAssertEqual(tiny["sharpness"], "1.23457e-05", "not 0.0000")
        XCTAssertEqual(Double(tiny["sharpness"]!)!, 1.23457e-05, accuracy: 1e-12, "reads back as the figure")
        XCTAssertEqual(tiny["sharpness_random"], "", "not measured: empty, as before")
        XCTAssertEqual(tiny["gns"], "123.46")
        XCTAssertEqual(tiny["test_acc"], "0.250000")
    }
}
