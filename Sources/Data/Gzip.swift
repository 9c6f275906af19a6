// Gzip decoding through zlib's inflate, every member of the file, with truncation and corruption
// reported, never ignored.
import CZlib

enum Gzip {
    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    static func decompress(_ input: [UInt8], source: String) throws -> [UInt8] {
        guard isGzip(input) else { throw DataError.notGzip(source) }
        // The trailer's ISIZE (size mod 2^32) hints the output size. Deflate expands at most ~1032:1,
        // so a larger hint is garbage (a truncated or hostile file) and is capped.
        var capacity = 1 << 16
        if input.count >= 18 {
            let n = input.count
            let hint = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
            capacity = min(max(hint, capacity), 1032 * input.count)
        }
        var output = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        var stream = z_stream()
        guard czlib_inflate_init_gzip(&stream) == Z_OK else {
            throw DataError.corruptGzip(source, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }

        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { inBuffer in
            stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.avail_in = UInt32(inBuffer.count)
            while true {
                if produced == output.count {
                    output += [UInt8](repeating: 0, count: output.count)
                }
                let room = min(output.count - produced, Int(UInt32.max))
                status = output.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                produced += room - Int(stream.avail_out)
                if status == Z_STREAM_END {
                    // A gzip file is a series of members (RFC 1952, 2.2; `cat a.gz b.gz`, bgzip):
                    // gzip -d decodes them all, so a further member is decoded, not dropped.
                    let next = inBuffer.count - Int(stream.avail_in)
                    guard isGzip(Array(inBuffer[next...].prefix(2))) else { break }
                    guard inflateReset(&stream) == Z_OK else {
                        throw DataError.corruptGzip(source, reason: "zlib could not restart")
                    }
                    continue
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    throw DataError.corruptGzip(source, reason: "unexpected end of file (truncated)")
                }
                if status != Z_OK && status != Z_BUF_ERROR {
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw DataError.corruptGzip(source, reason: message)
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }
}
