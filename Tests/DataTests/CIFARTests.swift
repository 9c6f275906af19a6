// CIFAR-10 binary batches as written to disk: generated files round-trip with their channels, the
// folder is recognised by its files, and each malformed case gives its own error.
@testable import Data
import Foundation
import Tensor
import TestSupport
import XCTest

final class CIFARTests: XCTestCase {
    func testGeneratedFolderRoundTrips() throws {
        let folder = IDXFolder()
        folder.writeCIFAR10(perBatch: 3, test: 4, seed: 9)
        let split = try DataFolder.load(folder.path)
        XCTAssertEqual(split.train.count, 15)
        XCTAssertEqual(split.test.count, 4)
        XCTAssertEqual(split.train.shape, [3, 32, 32])
        XCTAssertEqual(split.train.featureCount, 3072)
        XCTAssertEqual(split.normalizer.channels, 3)
        // The five batches in order, each record split into its label and its C x H x W pixels.
        let records = (0..<5).flatMap { IDXFolder.cifarRecords(count: 3, seed: 9, first: 3 * $0) }
        let size = CIFAR10Folder.recordSize
        XCTAssertEqual(split.train.labels, (0..<15).map { records[$0 * size] })
        XCTAssertEqual(split.train.images, (0..<15).flatMap { records[($0 * size + 1)..<(($0 + 1) * size)] })
        let test = IDXFolder.cifarRecords(count: 4, seed: 10)
        XCTAssertEqual(split.test.images[3072 + 1024 + 33], test[size + 1 + 1024 + 33], "sample 1, green plane, row 1, column 1")
        XCTAssertEqual(split.files, (CIFAR10Folder.trainFiles + [CIFAR10Folder.testFile]).map { folder.file($0) })
    }

    func expect(_ folder: IDXFolder, _ expected: DataError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try DataFolder.load(folder.path), file: file, line: line) { error in
            XCTAssertEqual(error as? DataError, expected, file: file, line: line)
        }
    }

    func testEachMalformedFolderHasItsOwnError() throws {
        func good() -> IDXFolder {
            let folder = IDXFolder()
            folder.writeCIFAR10(perBatch: 2, test: 3)
            return folder
        }
        let missing = good()
        try FileManager.default.removeItem(atPath: missing.file("data_batch_3.bin"))
        expect(missing, .missingFile(folder: missing.path, names: ["data_batch_3.bin"]))

        // Every missing file is named at once, not the first only (a second run would find the next).
        let several = good()
        for name in ["data_batch_2.bin", "data_batch_4.bin", "test_batch.bin"] { try FileManager.default.removeItem(atPath: several.file(name)) }
        expect(several, .missingFile(folder: several.path, names: ["data_batch_2.bin", "data_batch_4.bin", "test_batch.bin"]))
        XCTAssertEqual(DataError.missingFile(folder: "/d", names: ["data_batch_2.bin", "data_batch_4.bin"]).description,
                       "data folder /d has no data_batch_2.bin or data_batch_4.bin")

        let noTest = good()
        try FileManager.default.removeItem(atPath: noTest.file("test_batch.bin"))
        expect(noTest, .missingFile(folder: noTest.path, names: ["test_batch.bin"]))

        let ragged = good()
        ragged.write("data_batch_2.bin", IDXFolder.cifarRecords(count: 2, seed: 1) + [1, 2, 3, 4, 5])
        expect(ragged, .partialRecord(ragged.file("data_batch_2.bin"), bytes: 2 * 3073 + 5, recordSize: 3073))

        let short = good()
        short.write("test_batch.bin", Array(IDXFolder.cifarRecords(count: 1, seed: 1).dropLast()))
        expect(short, .partialRecord(short.file("test_batch.bin"), bytes: 3072, recordSize: 3073))

        let badLabel = good()
        var records = IDXFolder.cifarRecords(count: 3, seed: 1)
        records[2 * 3073] = 10
        badLabel.write("data_batch_5.bin", records)
        expect(badLabel, .labelOutOfRange(badLabel.file("data_batch_5.bin"), index: 2, label: 10, classes: 10))

        let empty = good()
        empty.write("data_batch_1.bin", [])
        expect(empty, .empty(empty.file("data_batch_1.bin")))

        let python = IDXFolder()
        for name in ["batches.meta", "data_batch_1", "test_batch"] { python.write(name, [0x80, 0x02]) }
        expect(python, .cifarPythonVersion(python.path))

        let directory = good()
        try FileManager.default.removeItem(atPath: directory.file("data_batch_4.bin"))
        try FileManager.default.createDirectory(atPath: directory.file("data_batch_4.bin"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try DataFolder.load(directory.path)) {
            guard case .unreadable(let path, _)? = $0 as? DataError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, directory.file("data_batch_4.bin"))
        }

        let missingFolder = IDXFolder()
        try FileManager.default.removeItem(atPath: missingFolder.path)
        expect(missingFolder, .missingFolder(missingFolder.path))
    }

    func testMessagesNameTheFileAndTheFault() {
        XCTAssertEqual(DataError.partialRecord("/d/test_batch.bin", bytes: 3080, recordSize: 3073).description,
                       "/d/test_batch.bin holds 3080 bytes, not a whole number of 3073-byte CIFAR-10 records (1 label byte + 3 x 32 x 32 pixels): 7 bytes left over")
        XCTAssertEqual(DataError.missingFile(folder: "/d", names: ["data_batch_3.bin"]).description, "data folder /d has no data_batch_3.bin")
    }

    func testDataFilesBesideTheSixAreNamedAsNotRead() throws {
        let folder = IDXFolder()
        folder.writeCIFAR10(perBatch: 2, test: 1)
        let plain = try DataFolder.load(folder.path)
        XCTAssertEqual(plain.filesNotRead, [], "only the six files: nothing else to name")
        // An extra batch, a gzip copy, the python version's pickles, MNIST-format files, and files
        // that are no data (kept out of the list).
        folder.write("data_batch_6.bin", IDXFolder.cifarRecords(count: 2, seed: 5))
        for name in ["data_batch_1.bin.gz", "test_batch", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte",
                     "batches.meta.txt", "readme.html", "notes-data_batch.txt"] {
            folder.write(name, [1, 2, 3])
        }
        let split = try DataFolder.load(folder.path)
        XCTAssertEqual(split.train.count, 10, "the five batches only")
        XCTAssertEqual(split.filesNotRead, ["data_batch_1.bin.gz", "data_batch_6.bin", "t10k-labels-idx1-ubyte",
                                            "test_batch", "train-images-idx3-ubyte.gz"].map(folder.file))
        XCTAssertEqual(split.files, (CIFAR10Folder.trainFiles + [CIFAR10Folder.testFile]).map(folder.file))
    }

    func testTheFolderAboveTheDataOrAnUnextractedArchiveIsNamed() throws {
        // `tar xzf cifar-10-binary.tar.gz` in DIR makes DIR/cifar-10-batches-bin: --data DIR is the slip.
        let parent = IDXFolder()
        let inner = parent.file("cifar-10-batches-bin")
        try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: parent.file("a-empty-folder"), withIntermediateDirectories: false)
        parent.write("cifar-10-binary.tar.gz", [0x1F, 0x8B])
        for name in CIFAR10Folder.trainFiles + [CIFAR10Folder.testFile] {
            FileManager.default.createFile(atPath: inner + "/" + name, contents: Data(IDXFolder.cifarRecords(count: 1, seed: 1)))
        }
        expect(parent, .dataInSubfolder(folder: parent.path, subfolder: inner))
        XCTAssertEqual(DataError.dataInSubfolder(folder: "/d", subfolder: "/d/cifar-10-batches-bin").description,
                       "data folder /d holds no data files, but its subfolder /d/cifar-10-batches-bin does: use --data /d/cifar-10-batches-bin")
        XCTAssertEqual(try DataFolder.load(inner).train.count, 5, "the subfolder named is the one that loads")

        // An MNIST-format subfolder too (Fashion-MNIST's repository keeps them under data/fashion).
        let mnistParent = IDXFolder()
        let fashion = IDXFolder()
        fashion.writeDataset(train: 2, test: 1, gzipped: true)
        try FileManager.default.moveItem(atPath: fashion.path, toPath: mnistParent.file("fashion"))
        expect(mnistParent, .dataInSubfolder(folder: mnistParent.path, subfolder: mnistParent.file("fashion")))

        // Only the archive: extract it.
        let archive = IDXFolder()
        archive.write("cifar-10-binary.tar.gz", [0x1F, 0x8B])
        expect(archive, .archiveNotExtracted(folder: archive.path, archive: "cifar-10-binary.tar.gz"))

        // A folder with one MNIST file of four is still an MNIST folder with files missing, subfolder or not.
        let partial = IDXFolder()
        partial.writeDataset(train: 2, test: 1)
        try FileManager.default.removeItem(atPath: partial.file("t10k-images-idx3-ubyte"))
        try FileManager.default.createDirectory(atPath: partial.file("backup"), withIntermediateDirectories: false)
        partial.write("backup/t10k-images-idx3-ubyte", [0])
        XCTAssertThrowsError(try DataFolder.load(partial.path)) {
            guard case .missingFile(partial.path, let names)? = $0 as? DataError else { return XCTFail("\($0)") }
            XCTAssertEqual(names.last, "t10k-images.idx3-ubyte")
        }
    }

    func testAFolderWithoutCIFARFilesIsReadAsIDX() throws {
        let folder = IDXFolder()
        folder.writeDataset(train: 6, test: 2)
        let split = try DataFolder.load(folder.path)
        XCTAssertEqual(split.train.shape, [1, 4, 4])
        XCTAssertEqual(split.files.map { ($0 as NSString).lastPathComponent },
                       ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
        XCTAssertEqual(split.filesNotRead, [])
    }

    func testWhenXAndXgzBothExistTheOneReadIsNamed() throws {
        let folder = IDXFolder()
        folder.writeDataset(train: 6, test: 2, gzipped: true)
        // A raw copy of one file beside its .gz: the .gz is read, the raw file is named as not read.
        folder.write("t10k-labels-idx1-ubyte", IDX.encode(IDXArray(dimensions: [2], bytes: [7, 7])))
        let split = try DataFolder.load(folder.path)
        XCTAssertEqual(split.files[3], folder.file("t10k-labels-idx1-ubyte.gz"))
        XCTAssertEqual(split.filesNotRead, [folder.file("t10k-labels-idx1-ubyte")])
        XCTAssertEqual(split.test.labels, [0, 1], "the .gz's labels, not the raw file's 7 7")
    }
}

final class CIFARFuzzTests: XCTestCase {
    /// Random damage to a valid 3-record batch: a length that is not whole records or a label byte
    /// over 9 is its DataError, never a crash; whole records parse (pixel damage keeps all 3).
    func testDamagedBatchesThrowOrKeepTheirRecords() {
        let good = IDXFolder.cifarRecords(count: 3, seed: 2)
        var rng = SplitMix64(seed: 7, stream: 0, index: 0)
        for trial in 0..<600 {
            var bytes = good
            switch trial % 4 {
            case 0: bytes.removeLast(1 + rng.below(bytes.count))
            case 1: bytes.insert(UInt8(rng.below(256)), at: rng.below(bytes.count + 1))
            case 2: bytes[3073 * rng.below(3)] = UInt8(rng.below(256))  // a label byte
            default: bytes[3073 * rng.below(3) + 1 + rng.below(3072)] ^= UInt8(1 + rng.below(255))
            }
            var images: [UInt8] = [], labels: [UInt8] = []
            do {
                try CIFAR10Folder.parse(bytes, source: "mutant", images: &images, labels: &labels)
                XCTAssertEqual(labels.count * 3073, bytes.count, "trial \(trial)")
                XCTAssertEqual(images.count, labels.count * 3072, "trial \(trial)")
                XCTAssertTrue(labels.allSatisfy { $0 < 10 }, "trial \(trial)")
            } catch {
                XCTAssertTrue(error is DataError, "trial \(trial): \(error)")
                XCTAssertTrue(trial % 4 < 3, "pixel damage never throws (trial \(trial))")
            }
        }
    }
}
