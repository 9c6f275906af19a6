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
    public let mpiLibrary: String
    public let openBLAS: String

    /// Computed once per process (it runs git twice): only rank 0 asks, before MPI starts.
    public static let current = BuildInfo(version: release, gitCommit: sourceCommit(), mpiLibrary: MPILibrary.version,
                                          openBLAS: BLASInfo.configuration.trimmingCharacters(in: .whitespaces))

    public var text: String {
        """
        ddp \(version)\(gitCommit.map { " (commit \($0))" } ?? "")
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
