// A run is a folder: config.json, metrics.csv, steps.csv, timing.csv, model.safetensors,
// summary.json. Only rank 0 creates and writes it. An existing folder with files is never reused.
import Data
import Foundation

public final class RunFolder {
    public let path: String

    /// Creates `requested`, or runs/<timestamp>[-k] when nil. Refuses a folder that holds files.
    public static func create(_ requested: String?) throws -> RunFolder {
        let fm = FileManager.default
        var path: String
        if let requested {
            path = requested
            if let contents = try? fm.contentsOfDirectory(atPath: path), !contents.isEmpty {
                throw ConfigError("run folder \(path) already holds files; choose another folder (nothing was overwritten)")
            }
        } else {
            path = defaultPath(prefix: "runs")
        }
        do {
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ConfigError("cannot create run folder \(path): \(FileProblem.describe(error, path: path))")
        }
        guard fm.isWritableFile(atPath: path) else { throw ConfigError("run folder \(path) is not writable") }
        return RunFolder(path: path)
    }

    /// An existing run folder, to continue a run in (`--resume`).
    public static func open(_ path: String) throws -> RunFolder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError("run folder \(path) does not exist")
        }
        guard isDirectory.boolValue else { throw ConfigError("\(path) is a file, not a run folder") }
        guard FileManager.default.isWritableFile(atPath: path) else { throw ConfigError("run folder \(path) is not writable") }
        return RunFolder(path: path)
    }

    /// Why `path` could not be read, in words that are true of it: it does not exist, it is a
    /// folder, or the system's own reason (permissions, I/O).
    public static func unreadableReason(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "it does not exist" }
        if isDirectory.boolValue { return "it is a folder" }
        let fd = Foundation.open(path, O_RDONLY)
        if fd < 0 { return String(cString: strerror(errno)) }
        close(fd)
        return "it could not be read"
    }

    /// Writes `name` so that a crash at any moment leaves either the old file or the new one:
    /// a temporary file, fsync, then rename over the old (the old one stays until the new is whole).
    public func writeDurably(_ name: String, _ bytes: [UInt8]) throws {
        let target = file(name), temporary = file(name + ".tmp")
        let fd = Foundation.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ConfigError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n <= 0 {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw ConfigError("cannot write \(temporary): \(reason) (the previous \(name) is kept)")
            }
            written += n
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw ConfigError("cannot complete \(target): \(String(cString: strerror(errno))) (the previous \(name) is kept)")
        }
    }

    /// Drops the rows of a CSV whose first column (a step) is above `step`: what a run wrote after
    /// its last checkpoint, which the resumed run writes again.
    public func truncateRows(_ name: String, afterStep step: Int, column: Int) throws {
        let path = file(name)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { return }
        let header = lines.removeFirst()
        let kept = lines.filter { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            return fields.count > column && (Int(fields[column]) ?? Int.max) <= step
        }
        guard kept.count < lines.count else { return }
        try write(name, Data(([header] + kept).map { $0 + "\n" }.joined().utf8))
    }

    /// PREFIX/<timestamp>, with -2, -3, ... if taken.
    public static func defaultPath(prefix: String) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let stamp = "\(prefix)/" + formatter.string(from: Date())
        var path = stamp
        var k = 2
        while FileManager.default.fileExists(atPath: path) {
            path = "\(stamp)-\(k)"
            k += 1
        }
        return path
    }

    private init(path: String) {
        self.path = path
    }

    public func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// Writes through a temporary file and a rename, so a reader never sees half a file.
    public func write(_ name: String, _ data: Data) throws {
        do {
            try data.write(to: URL(fileURLWithPath: file(name)), options: .atomic)
        } catch {
            throw ConfigError("cannot write \(file(name)): \(FileProblem.describe(error, path: file(name)))")
        }
    }

    public func writeJSON<T: Encodable>(_ name: String, _ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try write(name, try encoder.encode(value) + Data("\n".utf8))
    }

    /// Appends lines to a CSV file, writing `header` first if the file is new or empty (cut before
    /// its header was written: a full disk, a killed rank).
    public func append(_ name: String, header: String, lines: [String]) throws {
        let path = file(name)
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
        if (size ?? 0) == 0 {
            guard FileManager.default.createFile(atPath: path, contents: Data((header + "\n").utf8)) else {
                throw ConfigError("cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ConfigError("cannot open \(path)") }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
        } catch {
            throw ConfigError("cannot append to \(path): \(FileProblem.describe(error, path: path))")
        }
    }
}
