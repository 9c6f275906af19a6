// launch/local.sh and launch/hosts.sh on what a user gets wrong before any rank starts: a rank
// count that is not a number, a machine without mpirun; and ddp's own exit code passed through.
import Foundation
import XCTest

final class LaunchScriptTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func script(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        try DDPProcess.capture("/bin/bash", [Self.root.appendingPathComponent("launch/\(name)").path] + arguments,
                               environment: ["DDP": DDPProcess.executable].merging(environment) { $1 })
    }

    /// "two" used to reach mpirun after a bash "integer expression expected", and mpirun's own page on -np.
    func testLocalShRefusesARankCountThatIsNotAPositiveIntegerInOneLine() throws {
        for ranks in ["two", "0", "-1", "2x"] {
            let outcome = try script("local.sh", [ranks, "train", "--data", "synthetic"])
            XCTAssertEqual(outcome.status, 1, outcome.all)
            XCTAssertEqual(outcome.stderr, "launch/local.sh: RANKS must be a positive integer, not '\(ranks)'\n")
        }
    }

    /// A PATH holding the tools the scripts use but no mpirun: one line saying so, exit 127 (a
    /// shell's "command not found"), instead of setsid's "failed to execute mpirun".
    func testAMissingMpirunIsOneLineNamingIt() throws {
        let tools = DDPProcess.temporaryFolder("no-mpirun")
        try FileManager.default.createDirectory(atPath: tools, withIntermediateDirectories: true)
        for tool in ["bash", "dirname", "grep", "nproc", "id", "mktemp", "setsid", "awk", "rm", "cat"] {
            guard let path = ["/usr/bin/", "/bin/"].map({ $0 + tool }).first(where: FileManager.default.isExecutableFile(atPath:)) else { continue }
            try FileManager.default.createSymbolicLink(atPath: tools + "/" + tool, withDestinationPath: path)
        }
        let hostfile = tools + "/host file"
        try Data("# a comment\n\nlocalhost slots=2\n".utf8).write(to: URL(fileURLWithPath: hostfile))
        for (name, arguments) in [("local.sh", ["2"]), ("hosts.sh", [hostfile, "2"])] {
            let outcome = try script(name, arguments + ["train", "--data", "synthetic"], environment: ["PATH": tools])
            XCTAssertEqual(outcome.status, 127, outcome.all)
            XCTAssertEqual(outcome.stderr, "launch/\(name): mpirun not found on PATH; install OpenMPI (bash launch/setup.sh)\n")
        }
    }

    /// ddp's exit code through the script (64 for a flag, 1 for a bad input), its error line once.
    func testTheScriptsExitWithDdpsCode() throws {
        guard DDPProcess.mpirun != nil else { throw XCTSkip("mpirun is not installed") }
        let usage = try script("local.sh", ["2", "train", "--lr", "-1"])
        XCTAssertEqual(usage.status, 64, usage.all)
        let missing = try script("local.sh", ["2", "train", "--data", "/nonexistent folder", "--run-dir", DDPProcess.temporaryFolder("script-code")])
        XCTAssertEqual(missing.status, 1, missing.all)
        XCTAssertEqual(missing.errorLines.count, 1, missing.all)
        XCTAssertTrue(missing.errorLines.first?.contains("/nonexistent folder") ?? false, missing.all)
    }

    /// A DIR with a space made hosts whose mpirun failed with "rsh agent not found" (OpenMPI splits
    /// plm_rsh_agent at spaces): refused before anything is made, root or not.
    func testNetnsHostsRefusesADirItsMpirunCouldNotUse() throws {
        for name in ["ns dir", "ns$dir", "ns\"dir"] {
            let dir = DDPProcess.temporaryFolder("netns") + "/" + name
            let outcome = try script("netns-hosts.sh", ["up", "2", dir])
            XCTAssertEqual(outcome.status, 2, outcome.all)
            XCTAssertEqual(outcome.stderr, "netns-hosts: DIR '\(dir)' holds a space, quote, $, ` or backslash, which mpirun's rsh agent path cannot; choose another DIR\n")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
        }
    }
}

