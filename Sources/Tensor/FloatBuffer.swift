// Flat Float storage allocated once and reused: parameters, gradients, activations.
// Hot loops take its raw pointer; it never reallocates.

public final class FloatBuffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        // 64-byte alignment suits AVX-512 loads in OpenBLAS.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
    }

    deinit {
        pointer.deallocate()
    }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public func zero() {
        pointer.update(repeating: 0, count: count)
    }

    public var array: [Float] {
        Array(buffer)
    }
}
