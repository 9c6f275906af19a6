// IDX files as written to disk (raw and gzip by the system's gzip): good ones round-trip, and each
// malformed case gives its own error.
@testable import Data
import Foundation
import TestSupport
import XCTest

final class IDXTests: XCTestCase {
    func testRawAndGzipFoldersLoadTheSameBytes() throws {
        let raw = IDXFolder(), gz = IDXFolder()
        raw.writeDataset(train: 12, test: 5)
        gz.writeDataset(train: 12, test: 5, gzipped: true)
        let a = try MNISTFolder.load(raw.path), b = try MNISTFolder.load(gz.path)
        XCTAssertEqual(a.train.images, b.train.images)
        XCTAssertEqual(a.test.labels, b.test.labels)
        XCTAssertEqual(a.train.count, 12)
        XCTAssertEqual(a.test.count, 5)
        XCTAssertEqual(a.train.featureCount, 16)
        XCTAssertEqual(a.train.images[17], 17)
        XCTAssertEqual(a.train.labels[11], 1)
    }

    func testEncodeParseRoundTrip() throws {
        let array = IDXArray(dimensions: [2, 3], bytes: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try IDX.parse(IDX.encode(array), source: "x"), array)
    }

    func expect(_ bytes: [UInt8], name: String = "f", _ expected: DataError, file: StaticString = #filePath, line: UInt = #line) {
        let folder = IDXFolder()
        folder.write(name, bytes)
        XCTAssertThrowsError(try IDX.read(path: folder.file(name)), file: file, line: line) { error in
            XCTAssertEqual(error as? DataError, expected.relocated(to: folder.path), file: file, line: line)
        }
    }

    func testEachMalformedFileHasItsOwnError() {
        let good = IDX.encode(IDXArray(dimensions: [2, 2], bytes: [1, 2, 3, 4]))
        expect([], .empty("f"))
        expect([0x50, 0x4B, 3, 4, 0, 0], .badMagic("f", found: [0x50, 0x4B, 3, 4]))
        XCTAssertEqual(DataError.badMagic("/d/f", found: [0x50, 0x4B, 3, 4]).description,
                       "/d/f is not an IDX file: magic bytes 80 75 3 4, expected 0 0 8 N")
        XCTAssertEqual(DataError.badMagic("/d/f", found: [0x1F, 0x8B, 8, 0]).description,
                       "/d/f is not an IDX file: magic bytes 31 139 8 0, expected 0 0 8 N; it is gzip-compressed: name it /d/f.gz or decompress it")
        expect([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0], .unsupportedType("f", code: 0x0D))
        expect(Array(good.dropLast()), .truncated("f", expectedBytes: 4, foundBytes: 3))
        expect(Array(good.prefix(6)), .truncated("f", expectedBytes: 12, foundBytes: 6))
        expect(good + [9], .trailingBytes("f", expectedBytes: 4, foundBytes: 5))
        // 2^32 - 1 three times is past Int: named as the header says, not as Int.max bytes.
        expect([0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12) + [7, 7], .truncatedBeyondCount("f", dimensions: [4294967295, 4294967295, 4294967295], foundBytes: 2))
        expect(good, name: "f.gz", .notGzip("f.gz"))
        expect([], name: "f.gz", .empty("f.gz"))
    }

    func testTruncatedGzipIsReported() throws {
        let folder = IDXFolder()
        folder.write("g", IDX.encode(IDXArray(dimensions: [4096], bytes: (0..<4096).map { UInt8(($0 * 7919) % 251) })))
        folder.gzip("g")
        let whole = try Data(contentsOf: URL(fileURLWithPath: folder.file("g.gz")))
        folder.write("g.gz", Array(whole.prefix(whole.count / 2)))
        XCTAssertThrowsError(try IDX.read(path: folder.file("g.gz"))) { error in
            guard case .corruptGzip(_, let reason)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("truncated"), reason)
        }
    }

    /// `cat a.gz b.gz` is one gzip file of two members (RFC 1952, 2.2): gzip -d gives both parts, and
    /// so must the reader (it read the first member only and called the file truncated).
    func testEveryGzipMemberIsRead() throws {
        let folder = IDXFolder()
        let array = IDXArray(dimensions: [4096], bytes: (0..<4096).map { UInt8(($0 * 7919) % 251) })
        let bytes = IDX.encode(array)
        folder.write("a", Array(bytes.prefix(1000)))
        folder.write("b", Array(bytes.dropFirst(1000)))
        folder.gzip("a")
        folder.gzip("b")
        let members = try Data(contentsOf: URL(fileURLWithPath: folder.file("a.gz"))) + Data(contentsOf: URL(fileURLWithPath: folder.file("b.gz")))
        folder.write("g.gz", Array(members))
        XCTAssertEqual(try IDX.read(path: folder.file("g.gz")), array)
        // A second member cut short is still a truncated file.
        folder.write("h.gz", Array(members.dropLast(8)))
        XCTAssertThrowsError(try IDX.read(path: folder.file("h.gz"))) { error in
            guard case .corruptGzip(_, let reason)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("truncated"), reason)
        }
    }

    func testFolderLevelFaults() {
        XCTAssertThrowsError(try MNISTFolder.load("/nonexistent/data")) {
            XCTAssertEqual($0 as? DataError, .missingFolder("/nonexistent/data"))
        }
        let empty = IDXFolder()
        XCTAssertThrowsError(try MNISTFolder.load(empty.path)) {
            guard case .missingFile? = $0 as? DataError else { return XCTFail("\($0)") }
        }

        let mismatch = IDXFolder()
        mismatch.writeDataset(train: 6, test: 3)
        mismatch.write("train-labels-idx1-ubyte", IDX.encode(IDXArray(dimensions: [5], bytes: [0, 1, 2, 3, 4])))
        XCTAssertThrowsError(try MNISTFolder.load(mismatch.path)) {
            guard case .countMismatch(_, 6, _, 5)? = $0 as? DataError else { return XCTFail("\($0)") }
        }

        let badLabel = IDXFolder()
        badLabel.writeDataset(train: 6, test: 3)
        badLabel.write("t10k-labels-idx1-ubyte", IDX.encode(IDXArray(dimensions: [3], bytes: [0, 10, 2])))
        XCTAssertThrowsError(try MNISTFolder.load(badLabel.path)) {
            guard case .labelOutOfRange(_, 1, 10, 10)? = $0 as? DataError else { return XCTFail("\($0)") }
        }

        let flat = IDXFolder()
        flat.writeDataset(train: 6, test: 3)
        flat.write("train-images-idx3-ubyte", IDX.encode(IDXArray(dimensions: [6, 16], bytes: [UInt8](repeating: 0, count: 96))))
        XCTAssertThrowsError(try MNISTFolder.load(flat.path)) {
            guard case .wrongDimensions(_, _, [6, 16])? = $0 as? DataError else { return XCTFail("\($0)") }
        }
    }

    /// The classes are the training labels', at least 10: EMNIST's MNIST-format files (balanced: 47
    /// classes) load as they are, and a small set with labels 0-4 keeps 10.
    func testTheClassesAreTheTrainingLabelsAtLeastTen() throws {
        let emnist = IDXFolder()
        emnist.writeDataset(train: 94, test: 47, classes: 47)
        let split = try MNISTFolder.load(emnist.path)
        XCTAssertEqual([split.train.classes, split.test.classes], [47, 47])
        let few = IDXFolder()
        few.writeDataset(train: 10, test: 5, classes: 5)
        XCTAssertEqual(try MNISTFolder.load(few.path).train.classes, 10)
    }

    func testFashionMNISTFromDebianLoadsWithItsKnownShape() throws {
        guard FileManager.default.fileExists(atPath: MNISTFolder.fashionMNIST) else {
            throw XCTSkip("dataset-fashion-mnist is not installed (launch/setup.sh installs it)")
        }
        let split = try MNISTFolder.load(MNISTFolder.fashionMNIST)
        XCTAssertEqual(split.train.count, 60000)
        XCTAssertEqual(split.test.count, 10000)
        XCTAssertEqual(split.train.featureCount, 784)
        // Fashion-MNIST is balanced: 6000 training images per class.
        XCTAssertEqual(split.train.labels.filter { $0 == 3 }.count, 6000)
        XCTAssertEqual(split.normalizer.mean[0], 0.2860, accuracy: 1e-3)
    }
}

extension DataError {
    /// The same error with "f"-style names placed in `folder` (expectations are written folder-free).
    func relocated(to folder: String) -> DataError {
        func p(_ name: String) -> String { folder + "/" + name }
        switch self {
        case .empty(let n): return .empty(p(n))
        case .notGzip(let n): return .notGzip(p(n))
        case .badMagic(let n, let f): return .badMagic(p(n), found: f)
        case .unsupportedType(let n, let c): return .unsupportedType(p(n), code: c)
        case .truncated(let n, let e, let f): return .truncated(p(n), expectedBytes: e, foundBytes: f)
        case .trailingBytes(let n, let e, let f): return .trailingBytes(p(n), expectedBytes: e, foundBytes: f)
        case .truncatedBeyondCount(let n, let d, let f): return .truncatedBeyondCount(p(n), dimensions: d, foundBytes: f)
        default: return self
        }
    }
}
