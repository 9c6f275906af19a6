// Every way the data can be wrong, each with a message that names the file and the fault.

public enum DataError: Error, Equatable, CustomStringConvertible {
    case missingFolder(String)
    case notAFolder(String)
    case missingFile(folder: String, names: [String])
    case unreadable(String, reason: String)
    case empty(String)
    case notGzip(String)
    case corruptGzip(String, reason: String)
    case badMagic(String, found: [UInt8])
    case unsupportedType(String, code: UInt8)
    case wrongDimensions(String, expected: String, found: [Int])
    case truncated(String, expectedBytes: Int, foundBytes: Int)
    /// A header whose dimensions multiply past Int: no file holds that many bytes.
    case truncatedBeyondCount(String, dimensions: [Int], foundBytes: Int)
    case trailingBytes(String, expectedBytes: Int, foundBytes: Int)
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    case labelOutOfRange(String, index: Int, label: Int, classes: Int)
    case shapeMismatch(train: [Int], test: [Int])
    case partialRecord(String, bytes: Int, recordSize: Int)
    case cifarPythonVersion(String)
    case dataInSubfolder(folder: String, subfolder: String)
    case archiveNotExtracted(folder: String, archive: String)

    public var description: String {
        switch self {
        case .missingFolder(let path):
            return "data folder \(path) does not exist"
        case .notAFolder(let path):
            return "--data \(path) is a file, not a folder: --data takes the folder that holds the data files"
        case .missingFile(let folder, let names):
            return "data folder \(folder) has no \(names.joined(separator: " or "))"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .empty(let path):
            return "\(path) is empty"
        case .notGzip(let path):
            return "\(path) ends in .gz but is not a gzip file"
        case .corruptGzip(let path, let reason):
            return "\(path) is not a valid gzip stream: \(reason)"
        case .badMagic(let path, let found):
            // A gzip file under the raw name (gunzip -k's output renamed back, a copy) is read only as X.gz.
            let gzip = found.starts(with: [0x1F, 0x8B]) ? "; it is gzip-compressed: name it \(path).gz or decompress it" : ""
            return "\(path) is not an IDX file: magic bytes \(found.map { String($0) }.joined(separator: " ")), expected 0 0 8 N\(gzip)"
        case .unsupportedType(let path, let code):
            return "\(path) holds IDX element type 0x\(String(code, radix: 16)); only unsigned bytes (0x08) are supported"
        case .wrongDimensions(let path, let expected, let found):
            return "\(path) has dimensions \(found), expected \(expected)"
        case .truncated(let path, let expected, let found):
            return "\(path) is truncated: its header promises \(expected) data bytes, found \(found)"
        case .truncatedBeyondCount(let path, let dimensions, let found):
            return "\(path) is truncated: its header promises \(dimensions.map(String.init).joined(separator: " x ")) data bytes, "
                + "more than can be counted, found \(found)"
        case .trailingBytes(let path, let expected, let found):
            return "\(path) has \(found - expected) bytes after the \(expected) its header promises"
        case .countMismatch(let images, let imageCount, let labels, let labelCount):
            return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels"
        case .labelOutOfRange(let path, let index, let label, let classes):
            return "\(path): label \(label) at index \(index) is outside 0-\(classes - 1)"
        case .shapeMismatch(let train, let test):
            return "training images are \(train) but test images are \(test)"
        case .partialRecord(let path, let bytes, let recordSize):
            return "\(path) holds \(bytes) bytes, not a whole number of \(recordSize)-byte CIFAR-10 records "
                + "(1 label byte + 3 x 32 x 32 pixels): \(bytes % recordSize) bytes left over"
        case .cifarPythonVersion(let folder):
            return "data folder \(folder) holds the python version of CIFAR-10 (pickles), which is not read: "
                + "use the binary version (cifar-10-binary.tar.gz, folder cifar-10-batches-bin)"
        case .dataInSubfolder(let folder, let subfolder):
            return "data folder \(folder) holds no data files, but its subfolder \(subfolder) does: use --data \(subfolder)"
        case .archiveNotExtracted(let folder, let archive):
            return "data folder \(folder) holds no data files, only the archive \(archive): extract it "
                + "(e.g. tar xzf \(archive)) and give --data the folder it makes"
        }
    }
}
