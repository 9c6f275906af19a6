// Where each named parameter tensor sits in the one flat parameter buffer (and, at the same
// offsets, in the gradient buffer). Ranks compare `hash` before training to agree on the model.
import Tensor

public struct ParameterSlice: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
}

public struct ParameterLayout: Equatable, Sendable {
    public let slices: [ParameterSlice]
    public let count: Int

    public init(layers: [Layer]) {
        var slices: [ParameterSlice] = []
        var offset = 0
        for (index, layer) in layers.enumerated() {
            for (name, shape) in layer.parameterShapes {
                let slice = ParameterSlice(name: "layers.\(index).\(name)", shape: shape, offset: offset)
                slices.append(slice)
                offset += slice.count
            }
        }
        self.slices = slices
        self.count = offset
    }

    /// Hash of names, shapes and offsets: equal on two ranks iff they built the same layout.
    public var hash: UInt64 {
        let text = slices.map { "\($0.name):\($0.shape):\($0.offset)" }.joined(separator: ";")
        return Array(text.utf8).withUnsafeBytes { Checksum.fnv1a($0) }
    }
}
