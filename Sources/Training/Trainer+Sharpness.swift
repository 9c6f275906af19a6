// Sharpness of the minimum reached (Keskar et al. 2017, "On Large-Batch Training for Deep
// Learning: Generalization Gap and Sharp Minima", metric 2.1, eq. 3, with A = I, or a random
// n x p matrix A as in their Table 4 (`--sharpness-subspace p`, see RandomSubspace)):
//   C = { y : |y_i| <= eps (|x_i| + 1) },   phi = 100 (max_{y in C} f(x + y) - f(x)) / (1 + f(x)),
// f the mean training loss. Keskar et al. solve the inner max with L-BFGS-B; here it is
// `steps` of projected sign-gradient ascent (steepest ascent for a box), step 2.5 eps (|x_i| + 1)
// / steps (the PGD step of Madry et al. 2018), keeping the largest loss seen.
// f is the model as evaluation computes it (a probe pass: BatchNorm's running statistics, no
// dropout), so it is a fixed function of the weights; nothing in the model's state changes.
import Data
import NN
import Tensor

extension Trainer {
    /// Collective: every rank calls it. f is taken over the first `samples` training samples.
    /// `subspace` p: Keskar et al.'s random n x p matrix A (see RandomSubspace), seeded by the run's
    /// seed: the box is |z_j| <= eps (|(A^+ x)_j| + 1) and f is taken at x + A z; nil: A = I.
    /// The weights are restored bit for bit afterwards; BatchNorm state is never touched (probe passes).
    /// nil: not measured, because a loss in the box was not finite (a box too large for the weights'
    /// range) or a stop signal reached a rank (every ascent step's allreduce carries the stop flag,
    /// so all ranks leave the loop at the same step, and `stopAgreed` says so on every rank).
    func sharpness(epsilon: Double, samples: Int, steps: Int, subspace: Int? = nil) -> Double? {
        let count = model.layout.count
        let p = parameters.pointer
        let origin = FloatBuffer(count: count)
        origin.pointer.update(from: p, count: count)
        let offset = FloatBuffer(count: count)
        let x = origin.pointer, y = offset.pointer, g = gradients
        let eps = Float(epsilon)
        let stepFactor = 2.5 * eps / Float(max(steps, 1))
        let sign: (Float) -> Float = { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }

        var (start, stopped) = lossAndGradient(samples: samples)
        var highest = start, finite = start.isFinite
        // The largest loss seen; any non-finite one makes the figure meaningless.
        func record(_ probe: (loss: Double, stopped: Bool)) {
            highest = max(highest, probe.loss)
            finite = finite && probe.loss.isFinite
            stopped = probe.stopped
        }
        if let columns = subspace {
            let a = RandomSubspace(rows: count, columns: columns, seed: config.settings.seed)
            let width = a.pseudoInverseTimes(x).map { Float(abs($0)) + 1 }   // |(A^+ x)_j| + 1
            var z = [Float](repeating: 0, count: columns)
            // `break`, not `where !stopped`: a stop must end the loop, not skip the rest of its steps one by one.
            for _ in 0..<steps {
                if stopped { break }
                let h = a.transposeTimes(g)   // the gradient in z, up to the positive 1 / sample count
                for j in 0..<columns {
                    z[j] = min(max(z[j] + stepFactor * width[j] * sign(h[j]), -eps * width[j]), eps * width[j])
                }
                a.times(z, into: y)
                for i in 0..<count { p[i] = x[i] + y[i] }
                record(lossAndGradient(samples: samples))
            }
        } else {
            for _ in 0..<steps {
                if stopped { break }
                for i in 0..<count {
                    let box = eps * (abs(x[i]) + 1)
                    y[i] = min(max(y[i] + stepFactor * (abs(x[i]) + 1) * sign(g[i]), -box), box)
                    p[i] = x[i] + y[i]
                }
                record(lossAndGradient(samples: samples))
            }
        }
        p.update(from: x, count: count)
        stopAgreed = stopped
        return finite && !stopped ? 100 * (highest - start) / (1 + start) : nil
    }

    /// The random matrix of `sharpness(subspace: p)` in words, for the console and summary.json.
    func subspaceDescription(_ p: Int) -> String {
        "random \(model.layout.count) x \(p), entries +-1/sqrt(n), seed \(config.settings.seed), box about A^+ x"
    }

    /// Mean loss over the first `samples` training samples (sharded over ranks, allreduced), with
    /// the gradient sum left in the reduction buffer; `stopped`: a rank has received a stop signal.
    private func lossAndGradient(samples: Int) -> (loss: Double, stopped: Bool) {
        prefetched = nil  // this overwrites the model's input
        reduction.zero()
        let tail = reduction.pointer + tailOffset
        let total = min(samples, data.train.count)
        let hi = (comm.rank + 1) * total / comm.size
        var begin = comm.rank * total / comm.size
        var loss = 0.0
        while begin < hi {
            let end = min(begin + config.batchPerRank, hi)
            data.train.assemble(range: begin..<end, normalizer: data.normalizer, into: model.input, labels: labels)
            let logits = model.forward(batch: end - begin, context: PassContext(mode: .probe))
            loss += SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels, batch: end - begin,
                                                 classes: data.train.classes, gradient: model.outputGradient).loss
            model.backward(batch: end - begin, context: PassContext(mode: .probe))
            begin = end
        }
        tail[Tail.stop.rawValue] = StopSignal.received > 0 ? 1 : 0
        comm.allreduceSum(reduction.buffer)
        // The loss sum in Double: a Float sum resolves about 6e-8 of the loss, and in a small box or
        // a random subspace the rise is a few parts in 10^7 of it (a sharpness of 1.15e-5 once read as 7.1e-6).
        var sums = [loss, Double(hi - comm.rank * total / comm.size)]
        sums.withUnsafeMutableBufferPointer { comm.allreduceSum($0) }
        return (sums[0] / sums[1], tail[Tail.stop.rawValue] > 0)
    }
}
