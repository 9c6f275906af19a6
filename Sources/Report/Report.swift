// `ddp report`'s library side: tell a sweep folder from a run folder, build the one HTML page,
// write it without overwriting by accident. Reads files only; never starts MPI.
import Data
import Foundation

public enum Report {
    public enum Source: Equatable, Sendable {
        /// A folder with results.csv (and run subfolders).
        case sweep
        /// A `ddp train` run folder (summary.json, metrics.csv, steps.csv, timing.csv or config.json).
        case run
    }

    /// What `directory` is; throws a one-line `ReportError` when it is neither.
    public static func source(of directory: String) throws -> Source {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw ReportError("\(directory) does not exist")
        }
        guard isDirectory.boolValue else { throw ReportError("\(directory) is a file, not a sweep or run folder") }
        if SweepData.isSweep(directory) { return .sweep }
        if RunData.looksLikeRun(directory) { return .run }
        throw ReportError("\(directory) is neither a sweep folder (no results.csv) nor a run folder (no summary.json, metrics.csv, steps.csv, timing.csv or config.json)")
    }

    /// The whole report for `directory` as one HTML document.
    public static func html(for directory: String) throws -> String {
        switch try source(of: directory) {
        case .sweep: return SweepReport.html(try SweepData.load(directory))
        case .run: return RunReport.html(RunData.load(directory))
        }
    }

    /// Writes the report of `directory` to `output` (default DIR/report.html) and returns the path.
    /// An existing output is refused unless `overwrite`.
    @discardableResult
    public static func write(directory: String, output: String? = nil, overwrite: Bool = false) throws -> String {
        let path = output ?? (directory as NSString).appendingPathComponent("report.html")
        _ = try source(of: directory)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ReportError("\(path) is a folder; --output takes the file to write, e.g. \((path as NSString).appendingPathComponent("report.html"))")
        }
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw ReportError("\(path) already exists; pass --force to overwrite it")
        }
        let html = try html(for: directory)
        do {
            try Data(html.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ReportError("cannot write \(path): \(FileProblem.describe(error, path: path))")
        }
        return path
    }
}
