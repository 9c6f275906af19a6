// Any folder with the four standard MNIST-format files, raw or .gz: MNIST, Fashion-MNIST,
// KMNIST, EMNIST's MNIST-format files. Fashion-MNIST comes from Debian's dataset-fashion-mnist.
import Foundation

public enum MNISTFolder {
    public static let fashionMNIST = "/usr/share/datasets/fashion-mnist"

    public static func load(_ folder: String, classes: Int = 10) throws -> DataSplit {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missingFolder(folder)
        }
        let train = try loadPair(folder, prefix: "train", classes: classes)
        let test = try loadPair(folder, prefix: "t10k", classes: classes)
        guard train.height == test.height, train.width == test.width else {
            throw DataError.shapeMismatch(train: [train.height, train.width], test: [test.height, test.width])
        }
        return DataSplit(name: folder, train: train, test: test)
    }

    static func loadPair(_ folder: String, prefix: String, classes: Int) throws -> Dataset {
        let imagePath = try find(folder, stems: ["\(prefix)-images-idx3-ubyte", "\(prefix)-images.idx3-ubyte"])
        let labelPath = try find(folder, stems: ["\(prefix)-labels-idx1-ubyte", "\(prefix)-labels.idx1-ubyte"])
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
        if let index = labels.bytes.firstIndex(where: { Int($0) >= classes }) {
            throw DataError.labelOutOfRange(labelPath, index: index, label: Int(labels.bytes[index]), classes: classes)
        }
        return Dataset(images: images.bytes, labels: labels.bytes,
                       height: images.dimensions[1], width: images.dimensions[2], classes: classes)
    }

    static func find(_ folder: String, stems: [String]) throws -> String {
        let candidates = stems.flatMap { [$0 + ".gz", $0] }
        for name in candidates {
            let path = (folder as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw DataError.missingFile(folder: folder, names: candidates)
    }
}
