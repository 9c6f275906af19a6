// Global average pooling (Lin et al. 2014; the head of He et al.'s CIFAR ResNets): each channel's
// mean over its H x W plane. Shapes: x (N, C, H, W), y (N, C).
import Tensor

public final class GlobalAveragePool: Layer {
    public let channels: Int, height: Int, width: Int

    public init(channels: Int, height: Int, width: Int) {
        (self.channels, self.height, self.width) = (channels, height, width)
        (inputShape, outputShape) = ([channels, height, width], [channels])
    }

    public let inputShape: [Int]
    public let outputShape: [Int]

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        let plane = height * width
        let inverse = 1 / Float(plane)
        for p in 0..<(batch * channels) { y[p] = sum(x + p * plane, count: plane) * inverse }
    }

    /// One add per input value forward, one per input value backward.
    public func flops(batch: Int, inputGradient: Bool) -> PassFlops {
        let inputs = Double(batch * inputSize)
        return PassFlops(forward: inputs, backward: inputGradient ? inputs : 0)
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                         batch: Int, context: PassContext) {
        guard let dx else { return }
        let plane = height * width
        let inverse = 1 / Float(plane)
        for p in 0..<(batch * channels) {
            let (g, target) = (dy[p] * inverse, dx + p * plane)
            for i in 0..<plane { target[i] += g }
        }
    }
}
