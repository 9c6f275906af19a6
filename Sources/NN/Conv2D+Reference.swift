// The naive twins of Conv2D's passes: direct six-loop convolution in Double, for the tests.
// Shapes: x (C, H, W), weight (F, C, K, K), bias (F), y and dy (F, Ho, Wo) before activation.

extension Conv2D {
    public static func referenceForward(x: [Float], weight: [Float], bias: [Float], filters: Int, geometry g: ConvGeometry) -> [Float] {
        var y = [Float](repeating: 0, count: filters * g.outPixels)
        for f in 0..<filters {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    var sum = Double(bias[f])
                    for c in 0..<g.channels {
                        for ki in 0..<g.kernel {
                            for kj in 0..<g.kernel {
                                let iy = oy * g.stride + ki - g.padTop, ix = ox * g.stride + kj - g.padLeft
                                guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                                sum += Double(x[(c * g.height + iy) * g.width + ix])
                                    * Double(weight[((f * g.channels + c) * g.kernel + ki) * g.kernel + kj])
                            }
                        }
                    }
                    y[(f * g.outHeight + oy) * g.outWidth + ox] = Float(sum)
                }
            }
        }
        return y
    }

    /// One sample's weight gradient dW (F, C, K, K) and input gradient dx (C, H, W) for an output
    /// gradient dy taken before the activation: every product of forward's sum, differentiated.
    public static func referenceBackward(x: [Float], weight: [Float], outputGradient dy: [Float], filters: Int,
                                         geometry g: ConvGeometry) -> (weight: [Float], input: [Float]) {
        var dw = [Double](repeating: 0, count: weight.count), dx = [Double](repeating: 0, count: x.count)
        for f in 0..<filters {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    let gradient = Double(dy[(f * g.outHeight + oy) * g.outWidth + ox])
                    for c in 0..<g.channels {
                        for ki in 0..<g.kernel {
                            for kj in 0..<g.kernel {
                                let iy = oy * g.stride + ki - g.padTop, ix = ox * g.stride + kj - g.padLeft
                                guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                                let (pixel, tap) = ((c * g.height + iy) * g.width + ix, ((f * g.channels + c) * g.kernel + ki) * g.kernel + kj)
                                dw[tap] += gradient * Double(x[pixel])
                                dx[pixel] += gradient * Double(weight[tap])
                            }
                        }
                    }
                }
            }
        }
        return (dw.map { Float($0) }, dx.map { Float($0) })
    }
}
