// FNV-1a 64-bit hash of raw bytes: replica checks compare parameters bit for bit across ranks.

public enum Checksum {
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325

    /// The hash of `bytes`, or of the bytes hashed so far followed by `bytes` when `continuing` is that hash.
    public static func fnv1a(_ bytes: UnsafeRawBufferPointer, continuing hash: UInt64 = offsetBasis) -> UInt64 {
        var hash = hash
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    public static func fnv1a(_ floats: UnsafeBufferPointer<Float>) -> UInt64 {
        fnv1a(UnsafeRawBufferPointer(floats))
    }

    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
