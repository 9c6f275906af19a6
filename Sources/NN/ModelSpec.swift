// The --model language: layers joined by '-', built over the data's (C, H, W) input.
//   convF kK [sS] [same|valid]   Conv2D with F filters, K x K kernel, stride S (1), padding valid by default; ReLU
//   poolP                        max pool P x P, stride P
//   fcN                          dense layer of N units; ReLU, except the last, which gives the logits
//   flatten                      accepted for readability; activations are already flat (NCHW)
// Named models: `mlp` (fc<hidden>...-fc<classes>) and `cnn` (conv32k3-pool2-fc<classes>, the seed articles').
// Example: conv32k3-pool2-conv64k3-pool2-fc128-fc10.

public enum LayerSpec: Equatable, Sendable {
    case conv(filters: Int, kernel: Int, stride: Int, same: Bool)
    case pool(Int)
    case dense(Int)
    case flatten
}

public struct ModelSpecError: Error, CustomStringConvertible {
    public let description: String
}

public enum ModelSpec {
    public static let grammar = "layers joined by '-': convFkK[sS][same|valid], poolP, fcN, flatten (e.g. conv32k3-pool2-fc128-fc10)"

    /// Expands a named model or parses a spec.
    public static func parse(_ text: String, hidden: [Int] = [128], classes: Int = 10) throws -> [LayerSpec] {
        switch text {
        case "mlp": return hidden.map { .dense($0) } + [.dense(classes)]
        case "cnn": return [.conv(filters: 32, kernel: 3, stride: 1, same: false), .pool(2), .flatten, .dense(classes)]
        default: break
        }
        let tokens = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        return try tokens.map { token in
            guard let layer = parseToken(token) else {
                throw ModelSpecError(description: "unknown model spec token '\(token)' in '\(text)'; expected \(grammar)")
            }
            return layer
        }
    }

    static func parseToken(_ token: String) -> LayerSpec? {
        if token == "flatten" { return .flatten }
        if let n = number(after: "fc", in: token), n > 0 { return .dense(n) }
        if let n = number(after: "pool", in: token), n > 0 { return .pool(n) }
        guard token.hasPrefix("conv") else { return nil }
        var rest = Substring(token.dropFirst(4))
        var same = false
        if rest.hasSuffix("same") { same = true; rest = rest.dropLast(4) } else if rest.hasSuffix("valid") { rest = rest.dropLast(5) }
        let parts = rest.split(separator: "k", omittingEmptySubsequences: false)
        guard parts.count == 2, let filters = Int(parts[0]), filters > 0 else { return nil }
        let kernelAndStride = parts[1].split(separator: "s", omittingEmptySubsequences: false)
        guard let kernel = Int(kernelAndStride[0]), kernel > 0, kernelAndStride.count <= 2 else { return nil }
        let stride = kernelAndStride.count == 2 ? Int(kernelAndStride[1]) : 1
        guard let stride, stride > 0 else { return nil }
        return .conv(filters: filters, kernel: kernel, stride: stride, same: same)
    }

    static func number(after prefix: String, in token: String) -> Int? {
        token.hasPrefix(prefix) ? Int(token.dropFirst(prefix.count)) : nil
    }

    /// Builds the layers over inputs of shape (channels, height, width).
    public static func build(_ specs: [LayerSpec], channels: Int, height: Int, width: Int, classes: Int) throws -> Sequential {
        guard case .dense(let last)? = specs.last(where: { $0 != .flatten }), last == classes else {
            throw ModelSpecError(description: "the model must end with fc\(classes), one logit per class")
        }
        var shape = (c: channels, h: height, w: width)
        var layers: [Layer] = []
        let lastDense = specs.lastIndex { if case .dense = $0 { return true } else { return false } }
        for (index, spec) in specs.enumerated() {
            switch spec {
            case .conv(let filters, let kernel, let stride, let same):
                guard same || (kernel <= shape.h && kernel <= shape.w), shape.h > 0, shape.w > 0, layers.last is Dense == false else {
                    throw ModelSpecError(description: "conv\(filters)k\(kernel) does not fit its input \(shape.c)x\(shape.h)x\(shape.w)")
                }
                let geometry = ConvGeometry(channels: shape.c, height: shape.h, width: shape.w, kernel: kernel, stride: stride, same: same)
                layers.append(Conv2D(geometry: geometry, filters: filters, activation: .relu))
                shape = (filters, geometry.outHeight, geometry.outWidth)
            case .pool(let size):
                guard size <= shape.h, size <= shape.w, layers.last is Dense == false else {
                    throw ModelSpecError(description: "pool\(size) does not fit its input \(shape.c)x\(shape.h)x\(shape.w)")
                }
                let pool = MaxPool(channels: shape.c, height: shape.h, width: shape.w, size: size)
                layers.append(pool)
                shape = (shape.c, pool.outHeight, pool.outWidth)
            case .dense(let units):
                let input = shape.c * shape.h * shape.w
                layers.append(Dense(inputSize: input, outputSize: units, activation: index == lastDense ? .none : .relu))
                shape = (units, 1, 1)
            case .flatten:
                continue
            }
        }
        return Sequential(layers: layers)
    }

    /// Multilayer perceptron inputSize -> hidden... (ReLU) -> classes, built like `--model mlp`.
    public static func mlp(inputSize: Int, hidden: [Int], classes: Int) throws -> Sequential {
        try build(parse("mlp", hidden: hidden, classes: classes), channels: 1, height: 1, width: inputSize, classes: classes)
    }

    /// The spec written back out, e.g. "conv32k3-pool2-fc10" (for logs and config.json).
    public static func describe(_ specs: [LayerSpec]) -> String {
        specs.map { spec in
            switch spec {
            case .conv(let f, let k, let s, let same): return "conv\(f)k\(k)" + (s == 1 ? "" : "s\(s)") + (same ? "same" : "")
            case .pool(let p): return "pool\(p)"
            case .dense(let n): return "fc\(n)"
            case .flatten: return "flatten"
            }
        }.joined(separator: "-")
    }
}
