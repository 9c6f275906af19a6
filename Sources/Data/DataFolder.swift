// `--data DIR`: a CIFAR-10 binary folder when DIR holds its batch files, else MNIST-format IDX files.
import Foundation

public enum DataFolder {
    public static func load(_ folder: String) throws -> DataSplit {
        try requireFolder(folder)
        if CIFAR10Folder.recognizes(folder) { return try CIFAR10Folder.load(folder) }
        if CIFAR10Folder.holdsPythonVersion(folder) { throw DataError.cifarPythonVersion(folder) }
        return try MNISTFolder.load(folder)
    }

    /// `folder` exists and is a folder, or the error that says which it is not.
    static func requireFolder(_ folder: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else { throw DataError.missingFolder(folder) }
        guard isDirectory.boolValue else { throw DataError.notAFolder(folder) }
    }
}
