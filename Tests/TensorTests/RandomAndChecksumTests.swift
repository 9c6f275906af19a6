// The seeded generator and the checksum against published values, so runs stay reproducible.
import Tensor
import XCTest

final class RandomAndChecksumTests: XCTestCase {
    func testSplitMix64MatchesTheReferenceSequence() {
        // First outputs of Vigna's splitmix64.c for seed 1234567.
        var rng = SplitMix64(seed: 1_234_567)
        XCTAssertEqual(rng.next(), 6_457_827_717_110_365_317)
        XCTAssertEqual(rng.next(), 3_203_168_211_198_807_973)
    }

    func testDerivedStreamsDifferAndRepeat() {
        var a = SplitMix64(seed: 5, stream: 3, index: 1)
        var b = SplitMix64(seed: 5, stream: 3, index: 2)
        var c = SplitMix64(seed: 5, stream: 3, index: 1)
        let x = a.next()
        XCTAssertNotEqual(x, b.next())
        XCTAssertEqual(x, c.next())
    }

    func testUniformIntegersStayInRangeAndCoverIt() {
        var rng = SplitMix64(seed: 9)
        var seen = Set<Int>()
        for _ in 0..<1000 {
            let v = rng.below(7)
            XCTAssertTrue((0..<7).contains(v))
            seen.insert(v)
        }
        XCTAssertEqual(seen.count, 7)
    }

    func testNormalHasUnitMoments() {
        var rng = SplitMix64(seed: 3)
        let xs = (0..<20000).map { _ in Double(rng.normal()) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
    }

    func testFNV1aMatchesPublishedVectors() {
        // FNV-1a 64 test vectors (Fowler, Noll, Vo): "" and "a".
        XCTAssertEqual(Array("".utf8).withUnsafeBytes { Checksum.fnv1a($0) }, 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(Array("a".utf8).withUnsafeBytes { Checksum.fnv1a($0) }, 0xAF63_DC4C_8601_EC8C)
        XCTAssertEqual(Checksum.hex(0xAB), "00000000000000ab")
    }
}
