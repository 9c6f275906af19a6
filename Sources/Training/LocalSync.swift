// (Post-)local SGD (Lin et al. 2020, "Don't Use Large Mini-Batches, Use Local SGD", and Stich 2019):
// after `afterEpochs` synchronous epochs, each rank steps on its own micro-batch gradient (the sum
// over its own samples / its own count) and the ranks average their parameters, BatchNorm state
// and optimizer buffers (momentum; Adam's and LAMB's moments) every `period` steps. Averaging all
// three makes H = 1 equal synchronous SGD in exact arithmetic for SGD with momentum (the update
// is linear in gradient and velocity). The ranks also average at every evaluation and checkpoint,
// so evaluations, checkpoints and the per-epoch replica check see one model.

public struct LocalSync: Codable, Equatable, Sendable, CustomStringConvertible {
    /// H: local steps between two averagings.
    public var period: Int
    /// Synchronous epochs before the local phase (post-local SGD); 0: local from the start.
    public var afterEpochs: Int

    public init(period: Int, afterEpochs: Int = 0) {
        self.period = period
        self.afterEpochs = afterEpochs
    }

    /// `local:H` or `local:H:after-epochs`; `sync` gives nil (synchronous SGD).
    public static func parse(_ text: String) throws -> LocalSync? {
        if text == "sync" { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0] == "local", let period = Int(parts[1]), period >= 1,
              let after = parts.count == 3 ? Int(parts[2]) : 0, after >= 0 else {
            throw ConfigError("--sync '\(text)': expected sync, local:H or local:H:AFTER_EPOCHS with H >= 1 (e.g. local:8:2)")
        }
        return LocalSync(period: period, afterEpochs: after)
    }

    public var description: String { "local:\(period)" + (afterEpochs > 0 ? ":\(afterEpochs)" : "") }
    /// In rule names: "local8", "local8after2".
    var ruleSuffix: String { "local\(period)" + (afterEpochs > 0 ? "after\(afterEpochs)" : "") }
}
