// A model over buffers of its own for tests: parameters, gradients, state and moments made to its
// layout and bound, the batch reserved, the seeded initial values written.
@testable import NN
import Tensor

struct BoundModel {
    let model: Model
    let parameters: FloatBuffer, gradients: FloatBuffer, state: FloatBuffer, moments: FloatBuffer

    init(_ model: Model, batch: Int, seed: UInt64) {
        self.model = model
        model.reserve(batch: batch)
        let layout = model.layout
        parameters = FloatBuffer(count: layout.count)
        gradients = FloatBuffer(count: layout.count)
        state = FloatBuffer(count: max(layout.stateCount, 1))
        moments = FloatBuffer(count: max(layout.momentCount, 1))
        model.bind(parameters: parameters.pointer, gradients: gradients.pointer, state: state.pointer, moments: moments.pointer)
        model.initialize(seed: seed)
    }
}
