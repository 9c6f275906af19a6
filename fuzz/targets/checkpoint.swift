// Checkpoint.decode on any bytes: it throws a ConfigError or returns arrays of the lengths its
// header declares, never traps. The last 8 bytes are replaced by the FNV-1a checksum of the rest
// first, so the fuzzer explores the header and the arrays instead of stopping at the checksum.
import Tensor
import Training

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if bytes.count >= 8 {
        let body = bytes.count - 8
        let checksum = bytes.withUnsafeBytes { Checksum.fnv1a(UnsafeRawBufferPointer(rebasing: $0[..<body])) }
        withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange(body..., with: $0) }
    }
    guard let checkpoint = try? Checkpoint.decode(bytes, source: "fuzz") else { return 0 }
    if checkpoint.arrays.map(\.count) != checkpoint.state.arrayLengths { fatalError("arrays disagree with the header") }
    return 0
}
