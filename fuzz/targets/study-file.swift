// The study-file reader (`--config FILE.toml`) on any bytes, as a file: TOMLKit's parser, the keys
// turned into flags, then the real train command's parser (swift-argument-parser and validate()).
// It throws or parses, never traps; an expanded command line keeps its subcommand first and has
// no --config left in it.
@testable import ddp
import Foundation

let path = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()) + "/fuzz-study-\(getpid()).toml"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    guard let expanded = try? StudyFile.expand(["train", "--config", path]).arguments else { return 0 }
    if expanded.first != "train" || expanded.contains(where: { $0 == "--config" || $0.hasPrefix("--config=") }) {
        fatalError("expanded to \(expanded)")
    }
    _ = try? Train.parse(Array(expanded.dropFirst()))
    return 0
}
