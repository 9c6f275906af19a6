// TensorBoard's event-file encoding, written by hand: TFRecord framing (length, masked CRC-32C,
// payload, masked CRC-32C) around a protobuf `Event` holding a scalar `Summary`. Only the fields
// TensorBoard needs for scalars are encoded (tensorflow/core/util/event.proto, summary.proto):
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; SessionLog session_log = 7; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }   SessionLog { Status status = 1; }
// Five fields do not justify swift-protobuf (a package, a code-generation plugin and generated
// files to keep in step); the framing and CRC are tested against published vectors.

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, as TFRecord uses it.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// TFRecord's mask (tensorflow/core/lib/hash/crc32c.h): rotate right by 15, add a constant,
    /// so a CRC of data that itself holds CRCs stays well distributed.
    public static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

/// One TensorBoard `Event`, encoded as protobuf wire format.
public enum TensorBoardEvent {
    /// The first record of every event file.
    public static func fileVersion(wallTime: Double) -> [UInt8] {
        var out: [UInt8] = []
        putDouble(1, wallTime, into: &out)
        putBytes(3, Array("brain.Event:2".utf8), into: &out)
        return out
    }

    /// SessionLog START at `step`: a reader of "brain.Event:2" files drops the points at `step` and
    /// later that it has already read (TensorBoard's event_accumulator, _CheckForRestartAndMaybePurge;
    /// the plugin accumulator from the second START on), so a resumed run's rewritten steps replace the old.
    public static func sessionStart(step: Int, wallTime: Double) -> [UInt8] {
        var out: [UInt8] = []
        putDouble(1, wallTime, into: &out)
        putKey(2, wireType: 0, into: &out)
        putVarint(UInt64(bitPattern: Int64(step)), into: &out)
        putBytes(7, [0x08, 0x01], into: &out)  // status = START (1)
        return out
    }

    /// An event at `step` carrying scalar summaries (tag, value). A NaN or infinite value is left
    /// out, as a CSV field is left empty (`fmt`): it was not measured as a number, and TensorBoard
    /// would plot it as a point.
    public static func scalars(_ values: [(tag: String, value: Float)], step: Int, wallTime: Double) -> [UInt8] {
        var summary: [UInt8] = []
        for (tag, value) in values where value.isFinite {
            var entry: [UInt8] = []
            putBytes(1, Array(tag.utf8), into: &entry)
            putFloat(2, value, into: &entry)
            putBytes(1, entry, into: &summary)
        }
        var out: [UInt8] = []
        putDouble(1, wallTime, into: &out)
        putKey(2, wireType: 0, into: &out)
        putVarint(UInt64(bitPattern: Int64(step)), into: &out)
        putBytes(5, summary, into: &out)
        return out
    }

    /// TFRecord framing: uint64 length, masked CRC of those 8 bytes, payload, masked CRC of the payload (all little-endian).
    public static func record(_ payload: [UInt8], into out: inout [UInt8]) {
        let length = withUnsafeBytes(of: UInt64(payload.count).littleEndian, Array.init)
        out += length
        withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { out += $0 }
        out += payload
        withUnsafeBytes(of: CRC32C.masked(payload).littleEndian) { out += $0 }
    }

    // Protobuf wire format: key = field << 3 | wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
    static func putVarint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func putKey(_ field: UInt64, wireType: UInt64, into out: inout [UInt8]) {
        putVarint(field << 3 | wireType, into: &out)
    }

    static func putDouble(_ field: UInt64, _ value: Double, into out: inout [UInt8]) {
        putKey(field, wireType: 1, into: &out)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { out += $0 }
    }

    static func putFloat(_ field: UInt64, _ value: Float, into out: inout [UInt8]) {
        putKey(field, wireType: 5, into: &out)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { out += $0 }
    }

    static func putBytes(_ field: UInt64, _ bytes: [UInt8], into out: inout [UInt8]) {
        putKey(field, wireType: 2, into: &out)
        putVarint(UInt64(bytes.count), into: &out)
        out += bytes
    }
}
