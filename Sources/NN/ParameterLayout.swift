// Where every tensor of a model sits in its flat buffers: parameters (and, at the same offsets,
// their gradients), state that is not trained, and the per-step moments that ride the allreduce.
// `LayerTree.walk` computes every offset, in one place; the layout and the binding both use it.
import Tensor

public struct ParameterSlice: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    /// nil for state.
    public let role: ParameterRole?
    public var count: Int { shape.reduce(1, *) }
}

public struct ParameterLayout: Equatable, Sendable {
    /// Parameter tensors, tiling 0 ..< count of the parameter (and gradient) buffer.
    public let slices: [ParameterSlice]
    public let count: Int
    /// State tensors (BatchNorm running_mean, running_var), tiling 0 ..< stateCount of the state buffer.
    public let stateSlices: [ParameterSlice]
    public let stateCount: Int
    /// Floats of per-step moments, riding in the trainer's reduction buffer with the gradients.
    public let momentCount: Int

    public init(root: Layer) {
        var slices: [ParameterSlice] = [], stateSlices: [ParameterSlice] = []
        var end = LayerTree.Offsets()
        LayerTree.walk(root) { node in
            for (spec, offset) in zip(node.layer.parameterSpecs, node.offsets(of: node.layer.parameterSpecs, from: node.start.parameters)) {
                slices.append(ParameterSlice(name: node.path + "." + spec.name, shape: spec.shape, offset: offset, role: spec.role))
            }
            for (spec, offset) in zip(node.layer.stateSpecs, node.offsets(of: node.layer.stateSpecs, from: node.start.state)) {
                stateSlices.append(ParameterSlice(name: node.path + "." + spec.name, shape: spec.shape, offset: offset, role: nil))
            }
            end = node.end
        }
        self.slices = slices
        self.stateSlices = stateSlices
        self.count = end.parameters
        self.stateCount = end.state
        self.momentCount = end.moments
    }

    /// Hash of names, shapes, roles and offsets: equal on two ranks iff they built the same layout.
    public var hash: UInt64 {
        let text = (slices + stateSlices).map { "\($0.name):\($0.shape):\($0.offset):\($0.role?.rawValue ?? "state")" }
            .joined(separator: ";")
        return Array(text.utf8).withUnsafeBytes { Checksum.fnv1a($0) }
    }
}

/// Walks a layer tree in pre-order and gives every node its path and offsets.
public enum LayerTree {
    public struct Offsets: Sendable {
        public var parameters = 0, state = 0, moments = 0
    }

    public struct Node {
        public let layer: Layer
        /// e.g. "layers.3.body.layers.0"
        public let path: String
        /// Where this node's own tensors begin, and where the next node's begin.
        public let start: Offsets
        public let end: Offsets
        /// Position among the leaves (layers without sublayers), in order: seeds each leaf's initialisation.
        public let leafIndex: Int?

        func offsets(of specs: [TensorSpec], from base: Int) -> [Int] {
            var offsets: [Int] = [], offset = base
            for spec in specs {
                offsets.append(offset)
                offset += spec.count
            }
            return offsets
        }
    }

    public static func walk(_ root: Layer, _ visit: (Node) -> Void) {
        var offsets = Offsets()
        var leaves = 0
        func visitNode(_ layer: Layer, path: String) {
            let start = offsets
            offsets.parameters += layer.parameterCount
            offsets.state += layer.stateSpecs.reduce(0) { $0 + $1.count }
            offsets.moments += layer.momentCount
            let isLeaf = layer.sublayers.isEmpty
            visit(Node(layer: layer, path: path, start: start, end: offsets, leafIndex: isLeaf ? leaves : nil))
            if isLeaf { leaves += 1 }
            for (name, child) in layer.sublayers {
                visitNode(child, path: path.isEmpty ? name : path + "." + name)
            }
        }
        visitNode(root, path: "")
    }
}
