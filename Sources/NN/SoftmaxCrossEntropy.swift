// Softmax and cross-entropy fused: the loss is SUMMED over the batch (the trainer divides by the
// global count after the allreduce), and the gradient of that sum w.r.t. the logits is
// softmax - onehot. Stable: logits are shifted by their row maximum before exp (log-sum-exp).
// Shapes: logits (N, C), labels (N), gradient (N, C).
import Foundation

public struct LossSums: Equatable, Sendable {
    public var loss: Double
    public var correct: Int
}

public enum SoftmaxCrossEntropy {
    /// Loss sum and number of correct argmax predictions; writes d(loss sum)/d(logits) when asked.
    public static func evaluate(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
                                batch: Int, classes: Int,
                                gradient: UnsafeMutablePointer<Float>?) -> LossSums {
        var sums = LossSums(loss: 0, correct: 0)
        for n in 0..<batch {
            let row = logits + n * classes
            let label = Int(labels[n])
            var maximum = row[0]
            var best = 0
            for c in 1..<classes where row[c] > maximum {
                maximum = row[c]
                best = c
            }
            var total: Float = 0
            if let gradient {
                // Keep each exp in the gradient row, so training computes it once.
                let g = gradient + n * classes
                for c in 0..<classes {
                    g[c] = expf(row[c] - maximum)
                    total += g[c]
                }
                let inverse = 1 / total
                for c in 0..<classes { g[c] *= inverse }
                g[label] -= 1
            } else {
                for c in 0..<classes { total += expf(row[c] - maximum) }
            }
            sums.loss += Double(logf(total) - (row[label] - maximum))
            if best == label { sums.correct += 1 }
        }
        return sums
    }
}
