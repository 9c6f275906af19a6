// The CIFAR-10 binary reader on any bytes, as every batch file of a folder (data_batch_1..5.bin and
// test_batch.bin): through DataFolder.load, as --data reads it. It throws a DataError or returns
// sets whose sizes agree (five training copies of the test set, 3 x 32 x 32 bytes per label,
// labels below 10), never traps. The folder sits in /dev/shm when it exists (memory).
import Data
import Foundation

let folder = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()) + "/fuzz-cifar-\(getpid())"
let names = (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let bytes = Data(bytes: data, count: size)
    for name in names { _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: bytes) }
    guard let split = try? DataFolder.load(folder) else { return 0 }
    let (train, test) = (split.train, split.test)
    if train.count != 5 * test.count || test.count != size / 3073 { fatalError("\(train.count) and \(test.count) samples from \(size) bytes") }
    if train.images.count != train.count * 3072 || train.labels.contains(where: { $0 >= 10 }) { fatalError("inconsistent training set") }
    return 0
}
