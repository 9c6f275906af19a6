// The naive twin of Conv2D.forward: direct six-loop convolution in Double, for the tests.
// Shapes: x (C, H, W), weight (F, C, K, K), bias (F), returns (F, Ho, Wo) before activation.

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
}
