// Any command line (the input's lines are the arguments): ddp's parser and every command's
// validate() throw or accept, never trap. Nothing is run.
@testable import ddp
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let arguments = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
        .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // bench's validate() looks at the file system (--out must not exist): it stays out.
    guard arguments.first != "bench" else { return 0 }
    _ = try? DDP.parseAsRoot(arguments)
    return 0
}
