// Per-layer timing for `ddp bench --layers`: while a profiler is active, Sequential times each
// child's forward and backward pass. Off (the default), a pass pays one nil check per layer.
// Times are inclusive: a residual block's line holds its convolutions, which have lines of their own.
import Tensor

public final class LayerProfiler {
    /// The profiler passes report to; set and cleared outside steps, on the thread that runs them.
    nonisolated(unsafe) public static var active: LayerProfiler?

    public struct Entry {
        public let path: String
        public let layer: Layer
        public let depth: Int
    }

    /// Every layer below the root, in pre-order.
    public let entries: [Entry]
    private let index: [ObjectIdentifier: Int]
    public private(set) var forwardSeconds: [Double]
    public private(set) var backwardSeconds: [Double]

    public init(model: Model) {
        var entries: [Entry] = []
        LayerTree.walk(model.root) { node in
            guard !node.path.isEmpty else { return }
            entries.append(Entry(path: node.path, layer: node.layer, depth: node.path.split(separator: ".").count / 2))
        }
        self.entries = entries
        index = Dictionary(entries.enumerated().map { (ObjectIdentifier($0.element.layer), $0.offset) }, uniquingKeysWith: { a, _ in a })
        forwardSeconds = Array(repeating: 0, count: entries.count)
        backwardSeconds = Array(repeating: 0, count: entries.count)
    }

    public func reset() {
        for i in 0..<entries.count { (forwardSeconds[i], backwardSeconds[i]) = (0, 0) }
    }

    @inline(__always)
    func add(_ layer: Layer, backward: Bool, seconds: Double) {
        guard let i = index[ObjectIdentifier(layer)] else { return }
        if backward { backwardSeconds[i] += seconds } else { forwardSeconds[i] += seconds }
    }
}
