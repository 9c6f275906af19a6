// ModelSpec.parse on any text: it throws or returns layers, never traps, and what it returns
// round-trips through ModelSpec.describe (the spec written to logs and config.json).
import NN

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let specs = try? ModelSpec.parse(text, hidden: [16], classes: 10) else { return 0 }
    let again = try? ModelSpec.parse(ModelSpec.describe(specs), hidden: [16], classes: 10)
    if again != specs { fatalError("'\(text)' parses to \(specs), but its description '\(ModelSpec.describe(specs))' does not") }
    return 0
}
