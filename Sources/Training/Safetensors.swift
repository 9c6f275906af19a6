// The safetensors format (huggingface/safetensors): 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {..}} padded with spaces
// to a multiple of 8, then the raw little-endian tensor bytes. numpy and the safetensors package read it.
import Foundation
import NN

public enum Safetensors {
    public static func encode(layout: ParameterLayout, parameters: UnsafeBufferPointer<Float>,
                              metadata: [String: String]) -> Data {
        var entries: [String] = []
        for slice in layout.slices {
            let begin = slice.offset * 4, end = (slice.offset + slice.count) * 4
            entries.append("\"\(slice.name)\":{\"dtype\":\"F32\",\"shape\":\(slice.shape),\"data_offsets\":[\(begin),\(end)]}")
        }
        let meta = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
        entries.append("\"__metadata__\":{\(meta)}")
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data()
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        data.append(UnsafeBufferPointer(start: parameters.baseAddress, count: layout.count))
        return data
    }
}
