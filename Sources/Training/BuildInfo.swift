// What built this executable and what it runs on: `ddp --version` prints it, config.json keeps it.
// The commit is read when asked from the clone the executable was compiled from (its path is
// compiled in through #filePath): a fresh clone needs no build step or plugin, and an executable
// copied elsewhere, or built from a tarball, simply has no commit.
import Collective
import Foundation
import Tensor

public struct BuildInfo: Codable, Sendable {
    /// Raised by hand when a release is cut.
    public static let release = "0.1.0"

    public let version: String
    /// `git describe`-style: the abbreviated commit of the source tree, "-dirty" when tracked files changed; nil outside a clone.
    public let gitCommit: String?
    /// True when a source file is newer than this executable (a checkout or edit since the build):
    /// the commit then names the sources, not necessarily what was compiled.
    public var sourcesNewerThanBuild: Bool? = nil
    public let mpiLibrary: String
    public let openBLAS: String

    /// Computed once per process (it runs git twice): only rank 0 asks, before MPI starts.
    public static let current: BuildInfo = {
        var info = BuildInfo(version: release, gitCommit: sourceCommit(), mpiLibrary: MPILibrary.version,
                             openBLAS: BLASInfo.configuration.trimmingCharacters(in: .whitespaces))
        if info.gitCommit != nil { info.sourcesNewerThanBuild = sourcesChangedSinceBuild() }
        return info
    }()

    public var text: String {
        """
        ddp \(version)\(gitCommit.map { " (commit \($0)\(sourcesNewerThanBuild == true ? "; sources changed since this build" : ""))" } ?? "")
        MPI      \(mpiLibrary)
        OpenBLAS \(openBLAS)
        """
    }

    /// The source folder: this file is Sources/Training/BuildInfo.swift within it.
    static let sourceFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func sourceCommit() -> String? {
        guard FileManager.default.fileExists(atPath: sourceFolder + "/.git"),
              let commit = git(["rev-parse", "--short=12", "HEAD"]), !commit.isEmpty else { return nil }
        let changes = git(["status", "--porcelain", "--untracked-files=no"]) ?? ""
        return commit + (changes.isEmpty ? "" : "-dirty")
    }

    /// Whether any file under Sources/ or Package.swift was modified after this executable was
    /// written (git sets a checked-out file's time to the checkout's), nil when either is unknown.
    static func sourcesChangedSinceBuild() -> Bool? {
        let fm = FileManager.default
        guard let executable = Bundle.main.executablePath,
              let built = (try? fm.attributesOfItem(atPath: executable))?[.modificationDate] as? Date else { return nil }
        let newer = { (path: String) in ((try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date).map { $0 > built } ?? false }
        if newer(sourceFolder + "/Package.swift") { return true }
        guard let files = fm.enumerator(atPath: sourceFolder + "/Sources") else { return nil }
        for case let file as String in files where newer(sourceFolder + "/Sources/" + file) { return true }
        return false
    }

    /// git's stdout, trimmed; nil when git is missing or fails.
    static func git(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", sourceFolder] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
