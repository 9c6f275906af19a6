// `--data DIR`: a CIFAR-10 binary folder when DIR holds its batch files, else MNIST-format IDX files;
// a folder with neither that holds them one level down, or holds an archive, is named as such.
import Foundation

public enum DataFolder {
    public static func load(_ folder: String) throws -> DataSplit {
        try requireFolder(folder)
        if CIFAR10Folder.recognizes(folder) { return try CIFAR10Folder.load(folder) }
        if CIFAR10Folder.holdsPythonVersion(folder) { throw DataError.cifarPythonVersion(folder) }
        if !MNISTFolder.holdsAnyFile(folder) {
            // The common slips: --data names the folder the tarball was extracted in, or the tarball's.
            if let inner = subfolderWithData(folder) { throw DataError.dataInSubfolder(folder: folder, subfolder: inner) }
            if let archive = archive(folder) { throw DataError.archiveNotExtracted(folder: folder, archive: archive) }
        }
        return try MNISTFolder.load(folder)
    }

    /// The first (by name) folder directly inside `folder` that holds CIFAR-10 batches or MNIST-format files.
    static func subfolderWithData(_ folder: String) -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return names.map { (folder as NSString).appendingPathComponent($0) }.first { inner in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: inner, isDirectory: &isDirectory) && isDirectory.boolValue
                && (CIFAR10Folder.recognizes(inner) || CIFAR10Folder.holdsPythonVersion(inner) || MNISTFolder.holdsAnyFile(inner))
        }
    }

    /// The first (by name) tar or zip archive in `folder`, e.g. cifar-10-binary.tar.gz.
    static func archive(_ folder: String) -> String? {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            .first { name in [".tar.gz", ".tgz", ".tar", ".zip"].contains { name.hasSuffix($0) } }
    }

    /// `folder` exists and is a folder, or the error that says which it is not.
    static func requireFolder(_ folder: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else { throw DataError.missingFolder(folder) }
        guard isDirectory.boolValue else { throw DataError.notAFolder(folder) }
    }
}
