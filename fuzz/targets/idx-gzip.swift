// The IDX reader on any bytes, as a .gz file (gzip, then IDX): it throws a DataError or returns an array whose
// size matches its dimensions, never traps. The file sits in /dev/shm when it exists (memory).
import Data
import Foundation

let path = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
    + "/fuzz-idx-\(getpid())-images-idx3-ubyte.gz"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    guard let array = try? IDX.read(path: path) else { return 0 }
    if array.dimensions.reduce(1, *) != array.bytes.count { fatalError("dimensions \(array.dimensions) but \(array.bytes.count) bytes") }
    return 0
}
