// Builds layers one spec token at a time, tracking the activation shape (C, H, W) and refusing
// what does not fit with a message naming the token and its input.
extension ModelSpec {
    struct Builder {
        var shape: (c: Int, h: Int, w: Int)
        var layers: [Layer] = []
        /// Dropout layers so far: each one's key for its masks.
        var dropouts = 0
        /// After a dense layer activations are features, not planes: no conv or pool may follow.
        var flat = false

        init(shape: (Int, Int, Int)) { self.shape = shape }

        var shapeArray: [Int] { flat ? [shape.c] : [shape.c, shape.h, shape.w] }
        var flatSize: Int { shape.c * shape.h * shape.w }
        /// "1x28x28", or for flat activations "64 features (after fc or gap, no plane is left)": a bare
        /// "64" read as a 64-pixel image ("gap-conv8k3": "conv8k3 does not fit its input 1").
        var shapeText: String { flat ? "\(shape.c) features (after fc or gap, no plane is left)" : "\(shape.c)x\(shape.h)x\(shape.w)" }

        func refuse(_ token: String) -> ModelSpecError {
            ModelSpecError(description: "\(token) does not fit its input \(shapeText)")
        }

        mutating func conv(filters: Int, kernel: Int, stride: Int, same: Bool, activation: Dense.Activation, bias: Bool) throws {
            let token = ModelSpec.describe([.conv(filters: filters, kernel: kernel, stride: stride, same: same)])
            guard !flat, same || (kernel <= shape.h && kernel <= shape.w) else { throw refuse(token) }
            let geometry = ConvGeometry(channels: shape.c, height: shape.h, width: shape.w, kernel: kernel, stride: stride, same: same)
            layers.append(Conv2D(geometry: geometry, filters: filters, activation: activation, bias: bias))
            shape = (filters, geometry.outHeight, geometry.outWidth)
        }

        mutating func dense(_ units: Int, activation: Dense.Activation, bias: Bool) throws {
            layers.append(Dense(inputSize: flatSize, outputSize: units, activation: activation, bias: bias))
            shape = (units, 1, 1)
            flat = true
        }

        mutating func batchNorm(activation: Dense.Activation) {
            layers.append(BatchNorm(shape: shapeArray, activation: activation))
        }

        mutating func relu() {
            layers.append(ReLU(shape: shapeArray))
        }

        mutating func dropout(_ probability: Float) throws {
            // A mask's key holds 8 bits of the layer (Dropout.generator): a 257th layer would draw
            // the first one's masks.
            guard dropouts < Dropout.maxLayers else {
                throw ModelSpecError(description: "a model takes at most \(Dropout.maxLayers) dropout layers (each draws its own masks)")
            }
            layers.append(Dropout(shape: shapeArray, probability: probability, key: dropouts))
            dropouts += 1
        }

        mutating func pool(size: Int, stride: Int) throws {
            guard !flat, size <= shape.h, size <= shape.w else { throw refuse(ModelSpec.describe([.pool(size: size, stride: stride)])) }
            let pool = MaxPool(channels: shape.c, height: shape.h, width: shape.w, size: size, stride: stride)
            layers.append(pool)
            shape = (shape.c, pool.outHeight, pool.outWidth)
        }

        mutating func globalAveragePool() throws {
            guard !flat else { throw refuse("gap") }
            layers.append(GlobalAveragePool(channels: shape.c, height: shape.h, width: shape.w))
            shape = (shape.c, 1, 1)
            flat = true
        }

        /// conv3x3 (stride) - bn - relu - conv3x3 - bn, and the identity or a 1 x 1 projection - bn; relu after the sum.
        mutating func residual(filters: Int, stride: Int) throws {
            let token = ModelSpec.describe([.residual(filters: filters, stride: stride)])
            guard !flat else { throw refuse(token) }
            let input = shape
            var body = Builder(shape: input)
            try body.conv(filters: filters, kernel: 3, stride: stride, same: true, activation: .none, bias: false)
            body.batchNorm(activation: .relu)
            try body.conv(filters: filters, kernel: 3, stride: 1, same: true, activation: .none, bias: false)
            body.batchNorm(activation: .none)
            var shortcut: Layer?
            if stride != 1 || filters != input.c {
                var projection = Builder(shape: input)
                try projection.conv(filters: filters, kernel: 1, stride: stride, same: true, activation: .none, bias: false)
                projection.batchNorm(activation: .none)
                shortcut = Sequential(layers: projection.layers)
            }
            layers.append(Residual(body: Sequential(layers: body.layers), shortcut: shortcut, activation: .relu))
            shape = body.shape
        }
    }
}
