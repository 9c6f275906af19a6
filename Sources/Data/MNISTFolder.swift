// Any folder with the four standard MNIST-format files, raw or .gz: MNIST, Fashion-MNIST,
// KMNIST, EMNIST's MNIST-format files. Fashion-MNIST comes from Debian's dataset-fashion-mnist.
import Foundation

public enum MNISTFolder {
    public static let fashionMNIST = "/usr/share/datasets/fashion-mnist"

    /// `classes`: nil takes them from the training labels, at least 10 (EMNIST balanced has 47,
    /// letters labels 1-26); the test labels must fall among them.
    public static func load(_ folder: String, classes: Int? = nil) throws -> DataSplit {
        try DataFolder.requireFolder(folder)
        var files: [String] = [], notRead: [String] = []
        let train = try loadPair(folder, prefix: "train", classes: classes, files: &files, notRead: &notRead)
        let test = try loadPair(folder, prefix: "t10k", classes: train.classes, files: &files, notRead: &notRead)
        guard train.height == test.height, train.width == test.width else {
            throw DataError.shapeMismatch(train: [train.height, train.width], test: [test.height, test.width])
        }
        return DataSplit(name: folder, train: train, test: test, files: files, filesNotRead: notRead)
    }

    static func loadPair(_ folder: String, prefix: String, classes given: Int?,
                         files: inout [String], notRead: inout [String]) throws -> Dataset {
        let (imagePath, otherImages) = try find(folder, stems: imageStems(prefix))
        let (labelPath, otherLabels) = try find(folder, stems: labelStems(prefix))
        files += [imagePath, labelPath]
        notRead += otherImages + otherLabels
        let images = try IDX.read(path: imagePath)
        let labels = try IDX.read(path: labelPath)
        guard images.dimensions.count == 3 else {
            throw DataError.wrongDimensions(imagePath, expected: "3 (count, rows, columns)", found: images.dimensions)
        }
        guard labels.dimensions.count == 1 else {
            throw DataError.wrongDimensions(labelPath, expected: "1 (count)", found: labels.dimensions)
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DataError.countMismatch(images: imagePath, imageCount: images.dimensions[0],
                                          labels: labelPath, labelCount: labels.dimensions[0])
        }
        guard images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw DataError.wrongDimensions(imagePath, expected: "rows and columns of at least 1", found: images.dimensions)
        }
        let classes = given ?? max(10, Int(labels.bytes.max() ?? 0) + 1)
        if let index = labels.bytes.firstIndex(where: { Int($0) >= classes }) {
            throw DataError.labelOutOfRange(labelPath, index: index, label: Int(labels.bytes[index]), classes: classes)
        }
        return Dataset(images: images.bytes, labels: labels.bytes,
                       height: images.dimensions[1], width: images.dimensions[2], classes: classes)
    }

    static func imageStems(_ prefix: String) -> [String] { ["\(prefix)-images-idx3-ubyte", "\(prefix)-images.idx3-ubyte"] }
    static func labelStems(_ prefix: String) -> [String] { ["\(prefix)-labels-idx1-ubyte", "\(prefix)-labels.idx1-ubyte"] }

    /// Every file name looked for for the `prefix` ("train" or "t10k") set, images then labels.
    static func candidates(prefix: String) -> [String] {
        (imageStems(prefix) + labelStems(prefix)).flatMap { [$0 + ".gz", $0] }
    }

    /// Whether `folder` holds any of the files looked for (a folder with none is no MNIST folder at all).
    static func holdsAnyFile(_ folder: String) -> Bool {
        ["train", "t10k"].flatMap { candidates(prefix: $0) }
            .contains { FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) }
    }

    /// The first present of the candidate names (X.gz before X), and the others present, which are
    /// not read (said in the resolved configuration and config.json, so the choice is never silent).
    static func find(_ folder: String, stems: [String]) throws -> (path: String, notRead: [String]) {
        let candidates = stems.flatMap { [$0 + ".gz", $0] }
        let present = candidates.map { (folder as NSString).appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0) }
        guard let first = present.first else { throw DataError.missingFile(folder: folder, names: candidates) }
        return (first, Array(present.dropFirst()))
    }
}
