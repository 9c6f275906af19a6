// Random damage to valid IDX files, raw and gzip-compressed, through the same reader `ddp` uses:
// each damaged header, length or compressed stream is a thrown DataError, never a crash; damage
// confined to the pixel bytes of a raw file is (correctly) still a valid array of the same shape.
// Any one damaged header byte must be refused: a parse that survives it means a check is missing.
@testable import Data
import Foundation
import Tensor
import TestSupport
import XCTest

final class IDXFuzzTests: XCTestCase {
    let good = IDX.encode(IDXArray(dimensions: [8, 6, 5], bytes: (0..<240).map { UInt8(($0 * 37) % 256) }))

    func testDamagedRawFilesThrowOrKeepTheirShape() {
        var rng = SplitMix64(seed: 5, stream: 0, index: 0)
        let header = 4 + 4 * 3
        for trial in 0..<1000 {
            var bytes = good
            switch trial % 4 {
            case 0: bytes[rng.below(header)] ^= UInt8(1 + rng.below(255))   // header damage
            case 1: bytes.removeLast(1 + rng.below(bytes.count))             // truncation
            case 2: bytes.insert(UInt8(rng.below(256)), at: rng.below(bytes.count + 1))
            default: bytes[header + rng.below(bytes.count - header)] ^= UInt8(1 + rng.below(255))  // pixels only
            }
            if trial % 4 == 0 {
                // Every byte of the header is checked (magic, type, rank) or fixes the size: no damage to it parses.
                XCTAssertThrowsError(try IDX.parse(bytes, source: "mutant"), "header damage (trial \(trial))") {
                    XCTAssertTrue($0 is DataError, "trial \(trial): \($0)")
                }
                continue
            }
            do {
                let array = try IDX.parse(bytes, source: "mutant")
                XCTAssertEqual(array.dimensions.reduce(1, *), array.bytes.count, "trial \(trial)")
                XCTAssertEqual(array.dimensions, [8, 6, 5], "only pixel damage may parse (trial \(trial))")
            } catch {
                XCTAssertTrue(error is DataError, "trial \(trial): \(error)")
            }
        }
    }

    func testDamagedGzipFilesThrow() throws {
        let folder = IDXFolder()
        folder.write("g", good)
        folder.gzip("g")
        let compressed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder.file("g.gz"))))
        var rng = SplitMix64(seed: 6, stream: 0, index: 0)
        for trial in 0..<300 {
            var bytes = compressed
            if trial % 2 == 0 {
                bytes[10 + rng.below(bytes.count - 10)] ^= UInt8(1 << rng.below(8))  // past the gzip header
            } else {
                bytes.removeLast(1 + rng.below(bytes.count - 1))
            }
            XCTAssertThrowsError(try IDX.parse(Gzip.decompress(bytes, source: "g.gz"), source: "g.gz"), "trial \(trial)") {
                XCTAssertTrue($0 is DataError, "trial \(trial): \($0)")
            }
        }
    }
}
