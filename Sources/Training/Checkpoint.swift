// A checkpoint: everything a run needs to continue exactly where it stopped, in one file.
//   "DDPCKPT\0" | format version (UInt32 LE) | header length (UInt64 LE) | header (JSON) |
//   Float32 LE arrays (the parameters, the model state (BatchNorm running statistics; empty
//   without BatchNorm), then each optimizer state buffer) | FNV-1a 64 of all before.
// The header carries the settings and their hash, the global batch and the ranks that wrote it,
// the layout hash, where training stood (epoch, step within it, global step: the sampler's
// permutation is a function of seed and epoch, so that is its whole state), the best/target/
// divergence record, the noise-scale EMA, the optimizer's counters, the time spent over all
// launches, and the array lengths. Any damage is a clear error, never a crash.
import Foundation
import Tensor

public struct CheckpointState: Codable, Sendable {
    public var settings: TrainConfig
    public var configHash: String
    public var ranks: Int
    public var layoutHash: String
    /// The next step to run is step `stepInEpoch` of `epoch` (both 0-based); `step` are done.
    public var epoch: Int
    public var stepInEpoch: Int
    public var step: Int
    public var trainSeconds: Double
    public var trainedSamples: Int
    var progress: RunProgress
    var noiseScale: GradientNoiseScale
    public var optimizerCounters: [Int]
    public var arrayLengths: [Int]
    /// The run's global batch, which any rank count dividing it continues exactly (`ranks` above
    /// is the count that wrote this checkpoint, for information). nil in older checkpoints.
    public var globalBatch: Int? = nil
    /// Wall seconds of all launches up to this checkpoint, and how many launches that was.
    public var wallSeconds: Double? = nil
    public var launches: Int? = nil
    /// Samples per BatchNorm statistics group in the run, kept across a resume on another rank count.
    public var ghostBatch: Int? = nil
}

public struct Checkpoint: Sendable {
    public static let fileName = "checkpoint.ddp"
    static let magic: [UInt8] = Array("DDPCKPT".utf8) + [0]
    /// 2: the model state array after the parameters.
    static let formatVersion: UInt32 = 2

    public var state: CheckpointState
    /// The parameters, then the optimizer's state buffers.
    public var arrays: [[Float]]

    /// The settings that must match for a run to continue from a checkpoint (all but where it writes).
    public static func configHash(_ settings: TrainConfig) -> String {
        var s = settings
        s.runDir = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let bytes = (try? encoder.encode(s)).map { [UInt8]($0) } ?? []
        return Checksum.hex(bytes.withUnsafeBytes { Checksum.fnv1a($0) })
    }

    public func encode() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let header = [UInt8](try encoder.encode(state))
        var out = Checkpoint.magic
        withUnsafeBytes(of: Checkpoint.formatVersion.littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for array in arrays {
            array.withUnsafeBytes { out += $0 }  // x86-64 and arm64 are little-endian
        }
        let checksum = out.withUnsafeBytes { Checksum.fnv1a($0) }
        withUnsafeBytes(of: checksum.littleEndian) { out += $0 }
        return out
    }

    public static func decode(_ bytes: [UInt8], source: String) throws -> Checkpoint {
        let fixed = magic.count + 4 + 8
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
            throw ConfigError("\(source) is not a swift-ddp checkpoint (no DDPCKPT magic)")
        }
        guard bytes.count >= fixed + 8 else {
            throw ConfigError("checkpoint \(source) is truncated (\(bytes.count) bytes)")
        }
        let version = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: magic.count, as: UInt32.self)) }
        guard version == formatVersion else {
            throw ConfigError("checkpoint \(source) has format version \(version); this ddp reads version \(formatVersion)")
        }
        let stored = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)) }
        let computed = bytes.withUnsafeBytes { Checksum.fnv1a(UnsafeRawBufferPointer(rebasing: $0[..<(bytes.count - 8)])) }
        guard stored == computed else {
            throw ConfigError("checkpoint \(source) is corrupt or truncated (checksum \(Checksum.hex(computed)), recorded \(Checksum.hex(stored)))")
        }
        let headerLength = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: magic.count + 4, as: UInt64.self)) }
        guard headerLength <= UInt64(bytes.count - fixed - 8) else {
            throw ConfigError("checkpoint \(source) declares a header longer than the file")
        }
        let headerEnd = fixed + Int(headerLength)
        let state: CheckpointState
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            state = try decoder.decode(CheckpointState.self, from: Data(bytes[fixed..<headerEnd]))
        } catch {
            throw ConfigError("checkpoint \(source) has an unreadable header: \(error)")
        }
        // The lengths come from the file: summed as Doubles, so a hostile header cannot overflow Int.
        let floats = state.arrayLengths.reduce(0.0) { $0 + Double(max($1, 0)) }
        guard state.arrayLengths.allSatisfy({ $0 >= 0 }), Double(headerEnd) + 4 * floats == Double(bytes.count - 8) else {
            throw ConfigError("checkpoint \(source): its header describes \(Int(exactly: floats).map(String.init) ?? "\(floats)") floats "
                              + "but the file holds \((bytes.count - 8 - headerEnd) / 4)")
        }
        var arrays: [[Float]] = []
        var offset = headerEnd
        for length in state.arrayLengths {
            arrays.append(bytes.withUnsafeBytes { raw in
                (0..<length).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * $0, as: UInt32.self))) }
            })
            offset += 4 * length
        }
        return Checkpoint(state: state, arrays: arrays)
    }

    /// `path` is a checkpoint file or a run folder holding one.
    public static func location(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return (path as NSString).appendingPathComponent(fileName)
        }
        return path
    }
}
