// The safetensors format (huggingface/safetensors): 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {..}} padded with spaces
// to a multiple of 8, then the raw little-endian tensor bytes. numpy and the safetensors package read it.
import Foundation
import NN

public enum Safetensors {
    /// Parameters, then the state (BatchNorm running_mean / running_var) after them.
    public static func encode(layout: ParameterLayout, parameters: UnsafeBufferPointer<Float>,
                              state: UnsafeBufferPointer<Float>? = nil, metadata: [String: String]) -> Data {
        precondition(layout.stateCount == 0 || state?.count == layout.stateCount, "the model's state must be written with it")
        var entries: [String] = []
        let stateBase = layout.count
        for slice in layout.slices + layout.stateSlices {
            let base = slice.role == nil ? stateBase : 0
            let begin = (base + slice.offset) * 4, end = (base + slice.offset + slice.count) * 4
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
        if let state, layout.stateCount > 0 { data.append(UnsafeBufferPointer(start: state.baseAddress, count: layout.stateCount)) }
        return data
    }
}
