// `--data DIR`: a CIFAR-10 binary folder when DIR holds its batch files, else MNIST-format IDX files.
import Foundation

public enum DataFolder {
    public static func load(_ folder: String) throws -> DataSplit {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missingFolder(folder)
        }
        if CIFAR10Folder.recognizes(folder) { return try CIFAR10Folder.load(folder) }
        if CIFAR10Folder.holdsPythonVersion(folder) { throw DataError.cifarPythonVersion(folder) }
        return try MNISTFolder.load(folder)
    }
}
