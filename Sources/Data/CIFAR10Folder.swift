// The CIFAR-10 binary version (Krizhevsky 2009; cifar-10-binary.tar.gz from
// https://www.cs.toronto.edu/~kriz/cifar.html, folder cifar-10-batches-bin): data_batch_1.bin ...
// data_batch_5.bin for training, test_batch.bin for test. Each file is a run of 3073-byte records:
// 1 label byte (0-9), then 3 x 32 x 32 pixel bytes (the red, green and blue planes, row-major),
// which is this project's (C, H, W) sample layout as is. Any number of records per file is read
// (the real files hold 10000; tests write a few). The python version (pickles) is not read.
import Foundation

public enum CIFAR10Folder {
    public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let testFile = "test_batch.bin"
    public static let channels = 3, height = 32, width = 32, classes = 10
    /// 1 label byte + 3 x 32 x 32 pixel bytes.
    public static let recordSize = 1 + channels * height * width

    /// A folder is read as CIFAR-10 when it holds any of the binary version's batch files.
    public static func recognizes(_ folder: String) -> Bool {
        (trainFiles + [testFile]).contains { FileManager.default.fileExists(atPath: path(folder, $0)) }
    }

    /// The python version's files (pickles under the same names without .bin), which are not read.
    static func holdsPythonVersion(_ folder: String) -> Bool {
        ["data_batch_1", "test_batch"].contains { FileManager.default.fileExists(atPath: path(folder, $0)) }
    }

    public static func load(_ folder: String) throws -> DataSplit {
        let trainPaths = trainFiles.map { path(folder, $0) }
        let testPath = path(folder, testFile)
        // Every file is looked for before any is read, so all the missing ones are named at once.
        let missing = zip(trainFiles + [testFile], trainPaths + [testPath])
            .filter { !FileManager.default.fileExists(atPath: $0.1) }.map(\.0)
        if !missing.isEmpty { throw DataError.missingFile(folder: folder, names: missing) }
        return DataSplit(name: folder, train: try read(trainPaths), test: try read([testPath]),
                         files: trainPaths + [testPath], filesNotRead: filesNotRead(folder))
    }

    /// Files beside the six that look like data but are not read (a data_batch_6.bin, a
    /// data_batch_1.bin.gz, the python version's pickles, MNIST-format files): named at start and in
    /// config.json, so a folder read as CIFAR-10 never drops data silently. Sorted by name.
    static func filesNotRead(_ folder: String) -> [String] {
        let read = Set(trainFiles + [testFile])
        let idx = Set(["train", "t10k"].flatMap { MNISTFolder.candidates(prefix: $0) })
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { name in
            !read.contains(name) && (name.hasPrefix("data_batch") || name.hasPrefix("test_batch") || idx.contains(name))
        }.sorted().map { path(folder, $0) }
    }

    /// The records of `paths`, concatenated in order.
    static func read(_ paths: [String]) throws -> Dataset {
        var images: [UInt8] = [], labels: [UInt8] = []
        for file in paths {
            let bytes: [UInt8]
            do {
                bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw DataError.unreadable(file, reason: FileProblem.describe(error, path: file))
            }
            try parse(bytes, source: file, images: &images, labels: &labels)
        }
        return Dataset(images: images, labels: labels, channels: channels, height: height, width: width, classes: classes)
    }

    /// Checks one batch file's bytes and appends its pixels and labels; `source` names it in errors.
    public static func parse(_ bytes: [UInt8], source: String, images: inout [UInt8], labels: inout [UInt8]) throws {
        guard !bytes.isEmpty else { throw DataError.empty(source) }
        guard bytes.count % recordSize == 0 else {
            throw DataError.partialRecord(source, bytes: bytes.count, recordSize: recordSize)
        }
        let records = bytes.count / recordSize
        for r in 0..<records where bytes[r * recordSize] >= classes {
            throw DataError.labelOutOfRange(source, index: r, label: Int(bytes[r * recordSize]), classes: classes)
        }
        images.reserveCapacity(images.count + records * (recordSize - 1))
        labels.reserveCapacity(labels.count + records)
        for r in 0..<records {
            labels.append(bytes[r * recordSize])
            images.append(contentsOf: bytes[(r * recordSize + 1) ..< ((r + 1) * recordSize)])
        }
    }

    static func path(_ folder: String, _ name: String) -> String {
        (folder as NSString).appendingPathComponent(name)
    }
}
