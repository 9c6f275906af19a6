// ReLU: fused into Dense, Conv2D and BatchNorm where it follows them, and a layer of its own
// elsewhere; 16 floats at a time with explicit SIMD. Written as scalar loops (`where y < 0`, or a
// ternary) they compiled to branches, one float at a time: the backward mask alone was a quarter
// of the seed CNN's step (perf annotate).
import Tensor

/// y = max(y, 0), in place.
@inline(__always)
func applyReLU(_ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let raw = UnsafeMutableRawPointer(y)
    while i + 16 <= count {
        let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        raw.storeBytes(of: v.replacing(with: 0, where: v .< 0), toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count {
        y[i] = max(y[i], 0)
        i += 1
    }
}

/// out = y > 0 ? dy : 0, from the layer's output y (out may be dy itself).
@inline(__always)
func maskReLUGradient(_ dy: UnsafePointer<Float>, output y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let (gradient, output, target) = (UnsafeRawPointer(dy), UnsafeRawPointer(y), UnsafeMutableRawPointer(out))
    while i + 16 <= count {
        let g = gradient.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        let v = output.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        target.storeBytes(of: g.replacing(with: 0, where: v .<= 0), toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count {
        out[i] = y[i] > 0 ? dy[i] : 0
        i += 1
    }
}

/// dx += y > 0 ? dy : 0.
@inline(__always)
func addMaskedReLUGradient(_ dy: UnsafePointer<Float>, output y: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let (gradient, output, target) = (UnsafeRawPointer(dy), UnsafeRawPointer(y), UnsafeMutableRawPointer(dx))
    while i + 16 <= count {
        let g = gradient.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        let v = output.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        let d = target.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        target.storeBytes(of: d + g.replacing(with: 0, where: v .<= 0), toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count {
        dx[i] += y[i] > 0 ? dy[i] : 0
        i += 1
    }
}

/// A ReLU where no layer before it can take it in (after pooling, dropout or a residual sum).
public final class ReLU: Layer {
    public let shape: [Int]

    public init(shape: [Int]) { self.shape = shape }

    public var inputShape: [Int] { shape }
    public var outputShape: [Int] { shape }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        y.update(from: x, count: batch * outputSize)
        applyReLU(y, count: batch * outputSize)
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                         batch: Int, context: PassContext) {
        guard let dx else { return }
        addMaskedReLUGradient(dy, output: y, into: dx, count: batch * outputSize)
    }
}

/// y = relu(a + b) in one pass, the bits of the sum followed by applyReLU (a residual block's
/// output: the two passes read and wrote the whole output twice).
func addApplyingReLU(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let (left, right, target) = (UnsafeRawPointer(a), UnsafeRawPointer(b), UnsafeMutableRawPointer(y))
    while i + 16 <= count {
        let v = left.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) + right.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        target.storeBytes(of: v.replacing(with: 0, where: v .< 0), toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count {
        y[i] = max(a[i] + b[i], 0)
        i += 1
    }
}

