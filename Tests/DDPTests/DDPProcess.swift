// Runs the built `ddp` as a user does: alone, or under a real mpirun with N ranks.
import Data
import Foundation
import TestSupport
import XCTest

struct Outcome {
    let status: Int32
    let stdout: String
    let stderr: String
    var all: String { stdout + stderr }

    /// How many lines our program printed as errors (mpirun's own banners are not counted).
    var errorLines: [String] {
        all.split(separator: "\n").map(String.init).filter { $0.hasPrefix("error: ") || $0.hasPrefix("Error: ") }
    }
}

enum DDPProcess {
    /// The `ddp` the tests run: DDP_TEST_EXECUTABLE when set (launch/test.sh names the release build
    /// it has just made: the MPI tests then take a fraction of their debug time), else the one built
    /// beside this test bundle (.build/<triple>/debug), so a plain `swift test` tests its own build.
    static var executable: String {
        if let chosen = ProcessInfo.processInfo.environment["DDP_TEST_EXECUTABLE"], !chosen.isEmpty { return chosen }
        return buildFolder.appendingPathComponent("ddp").path
    }

    /// The folder of the build this test bundle belongs to (.build/<triple>/debug): its ddp and
    /// libAllocationCounter.so.
    static var buildFolder: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()]
        where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("ddp").path) {
            return candidate
        }
        return Bundle.main.bundleURL
    }

    static var mpirun: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What every ddp run gets: one BLAS thread per rank, one-line crash reports, no progress line.
    static let rankEnvironment = ["OPENBLAS_NUM_THREADS": "1", "SWIFT_BACKTRACE": "enable=no", "CI": "true"]

    /// `-x NAME` for each of `rankEnvironment`, so mpirun hands them to ranks on every host.
    static var exportFlags: [String] { rankEnvironment.keys.sorted().flatMap { ["-x", $0] } }

    /// `ddp args` under `mpirun -np ranks` (nil: without mpirun). `export`: more of `environment`'s
    /// names for mpirun to hand to the ranks; `program`: another build of ddp (the release one).
    static func run(_ arguments: [String], ranks: Int? = nil, environment extra: [String: String] = [:],
                    export: [String] = [], executable program: String = executable) throws -> Outcome {
        guard let ranks else { return try capture(program, arguments, environment: extra) }
        let (mpirun, flags) = try mpirunCommand(ranks: ranks, export: export)
        return try capture(mpirun, flags + [program] + arguments, environment: extra)
    }

    /// mpirun and its flags for `ranks` ranks on this host.
    static func mpirunCommand(ranks: Int, export: [String] = []) throws -> (String, [String]) {
        guard let mpirun else { throw XCTSkip("mpirun is not installed (launch/setup.sh installs it)") }
        // --quiet as launch/local.sh: mpirun's own abort banner could otherwise split rank 0's error line.
        var flags = ["-np", String(ranks), "--quiet", "--oversubscribe", "--bind-to", "none"] + exportFlags
            + export.flatMap { ["-x", $0] }
        if getuid() == 0 { flags.append("--allow-run-as-root") }
        return (mpirun, flags)
    }

    /// Runs a program with `rankEnvironment` and `extra` over this process's environment, to its end.
    static func capture(_ program: String, _ arguments: [String], environment extra: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }.merging(rankEnvironment) { $1 }
        // stdout through a pipe read to its end before waiting; stderr to a file, so neither can fill and stall.
        let out = Pipe()
        let errPath = temporaryFolder("stderr")
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try err.close()
        return Outcome(status: process.terminationStatus,
                       stdout: String(decoding: outData, as: UTF8.self),
                       stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }

    static func temporaryFolder(_ name: String) -> String {
        TestScratch.path(name)
    }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }
}

extension XCTestCase {
    /// Resumes the run in `dir` on `ranks`, checks that it says it continues at `position` ("epoch 1,
    /// step 52") and that it ends with `reference`'s parameters bit for bit (summary.json's checksum).
    @discardableResult
    func resumeToTheSameParameters(_ dir: String, ranks: Int, at position: String, as reference: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let resumed = try DDPProcess.run(["train", "--resume", dir], ranks: ranks)
        XCTAssertEqual(resumed.status, 0, resumed.all, file: file, line: line)
        XCTAssertTrue(resumed.stdout.contains("resuming \(dir) at \(position)"), resumed.stdout, file: file, line: line)
        XCTAssertEqual(try DDPProcess.json(dir + "/summary.json")["param_checksum"] as? String,
                       try DDPProcess.json(reference + "/summary.json")["param_checksum"] as? String,
                       "bit for bit as the uninterrupted run", file: file, line: line)
        return resumed
    }
}
