// Sizes the user chooses (layer widths, batches, synthetic set sizes) decide the largest
// allocations; checked before anything is allocated, so a request this machine cannot hold is one
// error naming the sizes, not a failed allocation (a Swift fatal error) or the kernel's OOM killer.
import Foundation
import NN

public enum MemoryBudget {
    /// Refuses `bytes` (a Double: the products of user sizes may overflow Int) beyond physical memory.
    public static func check(_ bytes: Double, for what: String) throws {
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        guard bytes.isFinite, bytes <= available else {
            throw ConfigError("\(what) needs about \(gigabytes(bytes)) per rank; this machine has \(gigabytes(available))")
        }
    }

    /// What a rank of this run allocates, as Trainer.init makes it: the flat buffers (parameters,
    /// gradients, the reduction buffer, up to two optimizer states and a checkpoint copy), activations
    /// and their gradients for the largest batch, and each layer's scratch (im2col columns: one
    /// operand of its products for one sample; made by the layer itself when built).
    static func check(model: Model, config: ResolvedConfig) throws {
        let parameters = Double(model.layout.count)
        // Evaluation chunks are capped at 32 MB of activations, as Trainer.init caps them.
        let evaluationLimit = max(1, (32 << 20) / (4 * max(model.activationsPerSample, 1)))
        let largest = Double(max(config.batchPerRank, min(config.settings.evalBatch, evaluationLimit)))
        let training = Double(config.batchPerRank)
        let scratch = model.matrixProducts(batch: 1).reduce(0.0) { $0 + Double($1.k) * Double($1.n) }
        let floats = 6 * parameters + Double(model.activationsPerSample) * (largest + training) + scratch
        try check(4 * floats, for: "the model (\(model.layout.count) parameters) at \(Int(largest)) samples a batch")
        // Each rank keeps its allreduce time of every step (8 bytes) and rank 0 gathers every rank's
        // (Trainer.allreduceSeconds, TimingReport); a step count sized by the user must fit that.
        try check(8 * Double(config.totalSteps) * Double(1 + config.ranks), for: "the per-step timing record of \(config.totalSteps) steps")
    }

    /// What building the layers allocates (each convolution's im2col columns, C*K*K x Ho*Wo), and the
    /// least a run then needs (parameters six times, one sample's activations), walked through the
    /// specs in Doubles before anything is built: a width, kernel or channel count near Int.max must
    /// not trap in the builder's Int arithmetic. Layers that do not fit are left to the builder's error.
    static func check(specs: [LayerSpec], channels: Int, height: Int, width: Int) throws {
        var (c, h, w) = (Double(channels), Double(height), Double(width))
        var (columns, parameters, activations) = (0.0, 0.0, c * h * w)
        func conv(_ filters: Int, _ kernel: Int, _ stride: Int, _ same: Bool) -> Bool {
            let (k, s) = (Double(kernel), Double(stride))
            guard same || (k <= h && k <= w) else { return false }
            let (oh, ow) = same ? ((h / s).rounded(.up), (w / s).rounded(.up)) : (((h - k) / s).rounded(.down) + 1, ((w - k) / s).rounded(.down) + 1)
            columns += c * k * k * oh * ow
            parameters += Double(filters) * (c * k * k + 1)
            (c, h, w) = (Double(filters), oh, ow)
            activations += c * h * w
            return true
        }
        for spec in specs {
            switch spec {
            case .conv(let filters, let kernel, let stride, let same):
                guard conv(filters, kernel, stride, same) else { return }
                continue
            case .residual(let filters, let stride):
                // Two 3 x 3 convolutions, a projection, and the block's own sums and BatchNorm buffers.
                let input = c
                guard conv(filters, 3, stride, true), conv(filters, 3, 1, true) else { return }
                parameters += input * c
                activations += 6 * c * h * w
                continue
            case .pool(let size, let stride):
                guard Double(size) <= h, Double(size) <= w else { return }
                (h, w) = (((h - Double(size)) / Double(stride)).rounded(.down) + 1, ((w - Double(size)) / Double(stride)).rounded(.down) + 1)
            case .dense(let units):
                parameters += Double(units) * (c * h * w + 1)
                (c, h, w) = (Double(units), 1, 1)
            case .globalAveragePool:
                (h, w) = (1, 1)
            case .batchNorm:
                parameters += 2 * c
                activations += c * h * w  // the saved x-hat
            case .relu, .dropout:
                break
            case .flatten:
                continue
            }
            activations += c * h * w
        }
        let scratch = columns > 0 ? ", \(gigabytes(4 * columns)) of im2col columns" : ""
        try check(4 * (columns + 6 * parameters + 2 * activations),
                  for: "the model (\(String(format: "%.3g", parameters)) parameters\(scratch))")
    }

    static func gigabytes(_ bytes: Double) -> String {
        bytes.isFinite ? String(format: "%.3g GB", bytes / 1e9) : "more memory than exists"
    }
}
