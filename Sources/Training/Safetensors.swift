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

    /// Reads every F32 tensor by name (for tests and tools).
    public static func decode(_ data: Data) throws -> [String: [Float]] {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw ConfigError("safetensors file too short") }
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard 8 + length <= bytes.count,
              let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any]
        else { throw ConfigError("safetensors header unreadable") }
        let body = Array(bytes[(8 + length)...])
        var tensors: [String: [Float]] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let offsets = info["data_offsets"] as? [Int] else { continue }
            tensors[name] = body[offsets[0]..<offsets[1]].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return tensors
    }
}
