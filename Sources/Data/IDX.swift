// The IDX format of MNIST-style data (LeCun et al.): magic 0 0 type ndims, big-endian UInt32
// dimensions, then the elements row-major. Only unsigned bytes (type 0x08) are used here.
import Foundation

public struct IDXArray: Equatable {
    public let dimensions: [Int]
    public let bytes: [UInt8]

    public init(dimensions: [Int], bytes: [UInt8]) {
        self.dimensions = dimensions
        self.bytes = bytes
    }
}

public enum IDX {
    /// Parses IDX bytes; `source` names the file in errors. Takes the buffer and strips the header
    /// in place, so a 47 MB image file is never held twice (peak memory, issue 5).
    public static func parse(_ data: consuming [UInt8], source: String) throws -> IDXArray {
        guard !data.isEmpty else { throw DataError.empty(source) }
        guard data.count >= 4, data[0] == 0, data[1] == 0, data[3] >= 1, data[3] <= 4 else {
            throw DataError.badMagic(source, found: Array(data.prefix(4)))
        }
        guard data[2] == 0x08 else { throw DataError.unsupportedType(source, code: data[2]) }
        let rank = Int(data[3])
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else {
            throw DataError.truncated(source, expectedBytes: headerSize, foundBytes: data.count)
        }
        var dimensions: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dimensions.append(Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3]))
        }
        let (expected, overflow) = dimensions.reduce((1, false)) { partial, d in
            let (product, o) = partial.0.multipliedReportingOverflow(by: d)
            return (product, partial.1 || o)
        }
        let found = data.count - headerSize
        if overflow { throw DataError.truncatedBeyondCount(source, dimensions: dimensions, foundBytes: found) }
        if expected > found { throw DataError.truncated(source, expectedBytes: expected, foundBytes: found) }
        if expected < found {
            throw DataError.trailingBytes(source, expectedBytes: expected, foundBytes: found)
        }
        data.removeSubrange(0..<headerSize)
        return IDXArray(dimensions: dimensions, bytes: data)
    }

    /// Reads a raw or gzip-compressed IDX file. A name ending in .gz must be gzip.
    public static func read(path: String) throws -> IDXArray {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw DataError.unreadable(path, reason: FileProblem.describe(error, path: path))
        }
        if path.hasSuffix(".gz") {
            guard !bytes.isEmpty else { throw DataError.empty(path) }
            // The compressed bytes are released before the parse.
            return try parse(Gzip.decompress(consume bytes, source: path), source: path)
        }
        return try parse(consume bytes, source: path)
    }

    /// Encodes an unsigned-byte IDX array (tests and tools write small files with it).
    public static func encode(_ array: IDXArray) -> [UInt8] {
        var out: [UInt8] = [0, 0, 0x08, UInt8(array.dimensions.count)]
        for d in array.dimensions {
            out += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)]
        }
        return out + array.bytes
    }
}
