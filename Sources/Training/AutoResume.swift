// --auto-resume: what a (re)started job finds in its folder decides whether it starts there,
// continues from the checkpoint, or has nothing left to do; anything else is refused, with
// nothing changed. This is what a requeued batch script needs. Rank 0 decides from the files
// (the folder need not be shared) and every rank learns the answer.
import Collective
import Foundation

public enum AutoResume: UInt8, Sendable {
    /// Missing or empty: start a new run (or sweep) there.
    case start
    /// Holds a checkpoint (a sweep: its sweep.json): continue it.
    case resume
    /// A run that ended (summary.json not marked interrupted): nothing to do.
    case finished

    /// The state of `path`, whose continuing depends on `marker` (checkpoint.ddp, or sweep.json).
    /// `isRun`: a training run folder, which can also be finished. Collective.
    public static func decide(_ path: String, marker: String, isRun: Bool, comm: Communicator) throws -> AutoResume {
        let mine = try agreed(comm) { () -> AutoResume in
            guard comm.rank == 0 else { return .start }
            return try decide(path, marker: marker, isRun: isRun)
        }
        return AutoResume(rawValue: comm.broadcast(bytes: [mine.rawValue], root: 0)[0]) ?? .start
    }

    static func decide(_ path: String, marker: String, isRun: Bool) throws -> AutoResume {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return .start }
        guard isDirectory.boolValue else { throw ConfigError("--auto-resume: \(path) is a file, not a folder") }
        let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if contents.isEmpty { return .start }
        if isRun && RunFolder.finishedSummary(path) != nil { return .finished }
        if contents.contains(marker) { return .resume }
        throw ConfigError("--auto-resume: \(path) holds files but no \(marker) to continue from (not a \(isRun ? "run" : "sweep"), "
                          + "or one cut before its first checkpoint); nothing was changed: choose another folder or empty this one")
    }

    /// Names of the settings in which `given` differs from `recorded` (JSON keys, sorted), so a
    /// restarted job with other flags is refused instead of silently continuing the old run.
    public static func differences<T: Encodable>(_ given: T, _ recorded: T) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        func object(_ value: T) -> [String: Any] {
            (try? encoder.encode(value)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
        }
        // Each value compared as canonical JSON text (Foundation's own equality of parsed values
        // differs between platforms for booleans).
        func text(_ value: Any?) -> Data? {
            try? JSONSerialization.data(withJSONObject: ["v": value ?? NSNull()], options: .sortedKeys)
        }
        let a = object(given), b = object(recorded)
        return Set(a.keys).union(b.keys).filter { text(a[$0]) != text(b[$0]) }.sorted()
    }
}

extension RunFolder {
    /// The summary.json of a run that ended (not one a signal stopped), or nil.
    public static func finishedSummary(_ path: String) -> [String: Any]? {
        let file = (path as NSString).appendingPathComponent("summary.json")
        guard let data = FileManager.default.contents(atPath: file),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        return object["interrupted"] as? Bool == true ? nil : object
    }
}
