// Taking and restoring checkpoints. Every rank holds the same state (the parameters are checked
// identical at the end, the optimizer's state follows from them), so rank 0 writes the file,
// and on resume rank 0 reads it and broadcasts its bytes: the run folder need not be shared.
import Collective
import Data
import Foundation
import Tensor

extension Trainer {
    func checkpoint(epoch: Int, stepInEpoch: Int, step: Int, clock: RunClock, trainedSamples: Int,
                    progress: RunProgress) -> Checkpoint {
        let arrays = [parameters.array, self.state.array] + optimizer.stateBuffers.map(\.array)
        let state = CheckpointState(
            settings: config.settings, configHash: Checkpoint.configHash(config.settings), ranks: comm.size,
            layoutHash: Checksum.hex(layout.hash), epoch: epoch, stepInEpoch: stepInEpoch, step: step,
            trainSeconds: clock.trainSeconds, trainedSamples: trainedSamples, progress: progress, noiseScale: noiseScale,
            optimizerCounters: optimizer.counters, arrayLengths: arrays.map(\.count),
            globalBatch: config.globalBatch, wallSeconds: clock.wallSeconds, launches: clock.launch,
            ghostBatch: recordedGhostBatch)
        return Checkpoint(state: state, arrays: arrays)
    }

    /// The ghost batch a resume must keep: only BatchNorm makes it matter.
    var recordedGhostBatch: Int? { layout.momentCount > 0 ? config.ghostBatch : nil }

    /// Rank 0 writes the checkpoint durably; never from weights that are not all finite, so the
    /// last good checkpoint survives a numerical fault. Collective.
    func saveCheckpoint(to folder: RunFolder?, epoch: Int, stepInEpoch: Int, step: Int, clock: RunClock,
                        trainedSamples: Int, progress: RunProgress) throws {
        guard sumOfSquares(parameters.pointer, count: parameters.count).isFinite else { return }
        let start = monotonicSeconds()
        try agreed(comm) {
            guard let folder else { return }
            let file = checkpoint(epoch: epoch, stepInEpoch: stepInEpoch, step: step, clock: clock,
                                  trainedSamples: trainedSamples, progress: progress)
            let bytes = try file.encode()
            if FaultInjection.due(.torn, step: step, rank: comm.rank) {
                try? Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: folder.file(Checkpoint.fileName + ".tmp")))
                kill(getpid(), SIGKILL)
            }
            FaultInjection.pauseInCheckpoint(rank: comm.rank, bytes: bytes, temporary: folder.file(Checkpoint.fileName + ".tmp"))
            try folder.writeDurably(Checkpoint.fileName, bytes)
        }
        timer.recordOutsideStep(.checkpoint, from: start, to: monotonicSeconds())
    }

    /// Loads the parameters and optimizer state; refuses a checkpoint of another model or run.
    func restore(_ checkpoint: Checkpoint, source: String) throws {
        let state = checkpoint.state
        guard state.layoutHash == Checksum.hex(layout.hash) else {
            throw ConfigError("checkpoint \(source) is of another model (layout \(state.layoutHash), this run builds \(Checksum.hex(layout.hash)))")
        }
        let buffers: [FloatBuffer] = [parameters, self.state] + optimizer.stateBuffers
        guard checkpoint.arrays.count == buffers.count, zip(checkpoint.arrays, buffers).allSatisfy({ $0.count == $1.count }) else {
            throw ConfigError("checkpoint \(source) holds optimizer state of another shape (was it made with another --optimizer?)")
        }
        for (array, buffer) in zip(checkpoint.arrays, buffers) {
            array.withUnsafeBufferPointer { if let base = $0.baseAddress { buffer.pointer.update(from: base, count: array.count) } }
        }
        optimizer.counters = state.optimizerCounters
        noiseScale = state.noiseScale
    }

    /// Reads `path` on rank 0 and hands every rank the same checkpoint; an unreadable or damaged
    /// file is one error from rank 0.
    public static func loadCheckpoint(_ path: String, comm: Communicator) throws -> Checkpoint {
        let bytes = try agreed(comm) { () -> [UInt8] in
            guard comm.rank == 0 else { return [] }
            let file = Checkpoint.location(path)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigError("cannot read checkpoint \(file): \(RunFolder.unreadableReason(file))")
            }
            return [UInt8](data)
        }
        let shared = comm.broadcast(bytes: bytes, root: 0)
        return try agreed(comm) {
            // Another rank count is fine (ResolvedConfig re-splits the run's global batch, or refuses
            // naming the counts that can).
            try Checkpoint.decode(shared, source: Checkpoint.location(path))
        }
    }

    /// The global batch of the run `checkpoint` belongs to (older checkpoints: from the settings
    /// and the ranks that wrote it).
    static func runGlobalBatch(_ checkpoint: Checkpoint, data: DataSplit) throws -> Int {
        if let global = checkpoint.state.globalBatch { return global }
        return try ResolvedConfig(checkpoint.state.settings, ranks: checkpoint.state.ranks, data: data).globalBatch
    }
}

extension Trainer {
    /// --auto-resume continues a run only under the flags it was started with (bar --run-dir), so
    /// a requeued job whose script changed is refused rather than silently training the old run.
    public static func refuseOtherSettings(_ given: TrainConfig, _ checkpoint: Checkpoint, comm: Communicator) throws {
        var given = given, recorded = checkpoint.state.settings
        let folder = given.runDir ?? "."
        (given.runDir, recorded.runDir) = (nil, nil)
        let differing = AutoResume.differences(given, recorded)
        try agreed(comm) {
            guard comm.rank == 0, !differing.isEmpty else { return }
            throw ConfigError("--auto-resume: the run in \(folder) was started with other settings (\(differing.joined(separator: ", "))); "
                              + "continue it as it was with --resume \(folder), or choose another --run-dir")
        }
    }
}
