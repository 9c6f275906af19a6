// One rank launched unlike the others, through a real mpirun: other flags, another build, or no
// MPI at all. Each ends the whole job with one error line naming the rank and what differs, a
// non-zero exit and no run folder; none is left waiting (the job runs under `timeout`, whose 124
// would fail the assertions). Before these checks, other --steps on rank 1 crashed the job with
// MPI_ERR_TRUNCATE, other --lr trained to "replicas diverged", and a rank that never called
// MPI_Init left the others in it forever.
import Foundation
import TestSupport
import XCTest

final class LaunchAgreementTests: XCTestCase {
    /// `mpirun -np 2 sh -c SCRIPT` under `timeout 120`: SCRIPT picks each rank's command.
    func runPerRank(_ script: String, environment: [String: String] = [:]) throws -> Outcome {
        let (mpirun, flags) = try DDPProcess.mpirunCommand(ranks: 2, export: Array(environment.keys))
        return try DDPProcess.capture("/usr/bin/timeout", ["120", mpirun] + flags + ["/bin/sh", "-c", script], environment: environment)
    }

    func assertOneRefusal(_ outcome: Outcome, mentioning parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(outcome.status, 0, outcome.all, file: file, line: line)
        XCTAssertNotEqual(outcome.status, 124, "the job hung: \(outcome.all)", file: file, line: line)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all, file: file, line: line)
        for part in parts {
            XCTAssertTrue(outcome.errorLines.first?.contains(part) ?? false, "\(part) in \(outcome.all)", file: file, line: line)
        }
    }

    func testARankStartedWithOtherFlagsEndsTheJobNamingTheRankAndTheArgument() throws {
        let dir = DDPProcess.temporaryFolder("launch-flags")
        let outcome = try runPerRank(#"steps=4; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && steps=6; exec "$DDP" train --data synthetic --steps $steps --run-dir "$RUN""#,
                                     environment: ["DDP": DDPProcess.executable, "RUN": dir])
        assertOneRefusal(outcome, mentioning: ["error: rank 1 on ", "was started with other arguments than rank 0: argument 5 is '6' there and '4' on rank 0"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "no run folder for a refused launch")
    }

    func testARankMissingAFlagIsNamedToo() throws {
        let dir = DDPProcess.temporaryFolder("launch-missing-flag")
        let outcome = try runPerRank(#"extra=; [ "$OMPI_COMM_WORLD_RANK" = 0 ] && extra=--nesterov; exec "$DDP" train --data synthetic --steps 2 --run-dir "$RUN" $extra"#,
                                     environment: ["DDP": DDPProcess.executable, "RUN": dir])
        assertOneRefusal(outcome, mentioning: ["error: rank 1 on ", "argument 8 is nothing there and '--nesterov' on rank 0"])
    }

    /// A copy of ddp whose GNU build ID differs in one byte (it still runs: nothing checks the note).
    func testARankRunningAnotherBuildEndsTheJobNamingIt() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: DDPProcess.executable)))
        // The note's header: namesz 4, descsz 20 (SHA-1), type 3 (NT_GNU_BUILD_ID), "GNU\0"; the ID follows.
        let header: [UInt8] = [4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 0x47, 0x4E, 0x55, 0]
        guard let at = (0 ..< bytes.count - header.count).first(where: { bytes[$0] == 4 && Array(bytes[$0 ..< $0 + header.count]) == header }) else {
            throw XCTSkip("this ddp has no SHA-1 GNU build ID note")
        }
        bytes[at + header.count] ^= 0xFF
        let other = DDPProcess.temporaryFolder("launch-other-build")
        try Data(bytes).write(to: URL(fileURLWithPath: other))
        XCTAssertEqual(chmod(other, 0o755), 0)
        let dir = DDPProcess.temporaryFolder("launch-build")
        let outcome = try runPerRank(#"program=$DDP; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && program=$OTHER; exec "$program" train --data synthetic --steps 2 --run-dir "$RUN""#,
                                     environment: ["DDP": DDPProcess.executable, "OTHER": other, "RUN": dir])
        assertOneRefusal(outcome, mentioning: ["error: rank 1 on ", "runs another build of ddp than rank 0 (\(other), build ID "])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "no run folder for a refused launch")
    }

    /// Rank 1 runs a command that never starts MPI and exits 0: rank 0 waited in MPI_Init forever.
    func testARankThatNeverStartsMPIEndsTheJobAfterTheTimeout() throws {
        let dir = DDPProcess.temporaryFolder("launch-no-init")
        let outcome = try runPerRank(#"[ "$OMPI_COMM_WORLD_RANK" = 1 ] && exec "$DDP" --version; exec "$DDP" train --data synthetic --steps 2 --collective-timeout 2 --run-dir "$RUN""#,
                                     environment: ["DDP": DDPProcess.executable, "RUN": dir])
        assertOneRefusal(outcome, mentioning: ["error: rank 0 on ", "MPI_Init waited 2 s, over --collective-timeout 2: not every rank of the job started MPI"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
    }

    /// The same command on both ranks, but `--data data` is relative and each rank starts in its own
    /// folder: rank 1's data differ in content only (same counts), or in their count. The count used
    /// to crash the job with an MPI error after making the run folder; the content trained on it.
    func testARankReadingOtherDataEndsTheJobNamingItBeforeTheRunFolder() throws {
        let ramp = IDXFolder(), scrambled = IDXFolder(), larger = IDXFolder()
        ramp.writeDataset(train: 64, test: 16)
        scrambled.writeDataset(train: 64, test: 16, pixel: IDXFolder.scrambled)
        larger.writeDataset(train: 80, test: 16)
        for (other, described) in [(scrambled, "64 train and 16 test samples of [1, 4, 4] x 10 classes, fingerprint "),
                                   (larger, "80 train and 16 test samples of [1, 4, 4] x 10 classes, fingerprint ")] {
            let homes = DDPProcess.temporaryFolder("launch-data")
            for (rank, folder) in [ramp, other].enumerated() {
                try FileManager.default.createDirectory(atPath: homes + "/\(rank)", withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(atPath: homes + "/\(rank)/data", withDestinationPath: folder.path)
            }
            let dir = homes + "/run"
            let outcome = try runPerRank(#"cd "$HOMES/$OMPI_COMM_WORLD_RANK" && exec "$DDP" train --data data --batch-per-rank 8 --epochs 2 --run-dir "$RUN""#,
                                         environment: ["DDP": DDPProcess.executable, "HOMES": homes, "RUN": dir])
            assertOneRefusal(outcome, mentioning: ["error: rank 1 on ", "read other data than rank 0 (" + described,
                                                   "; rank 0: 64 train and 16 test samples of [1, 4, 4] x 10 classes, fingerprint "])
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "no run folder for a refused launch")
        }
        // The same data in two places is the same data.
        let copy = IDXFolder()
        copy.writeDataset(train: 64, test: 16)
        let homes = DDPProcess.temporaryFolder("launch-data-same")
        for (rank, folder) in [ramp, copy].enumerated() {
            try FileManager.default.createDirectory(atPath: homes + "/\(rank)", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: homes + "/\(rank)/data", withDestinationPath: folder.path)
        }
        let same = try runPerRank(#"cd "$HOMES/$OMPI_COMM_WORLD_RANK" && exec "$DDP" train --data data --batch-per-rank 8 --steps 2 --run-dir "$RUN""#,
                                  environment: ["DDP": DDPProcess.executable, "HOMES": homes, "RUN": homes + "/run"])
        XCTAssertEqual(same.status, 0, same.all)
    }

    /// The same command line, `--config s.toml` relative, and each rank's folder holds another file:
    /// rank 1 trained at its own rate until "replicas diverged" at the end.
    func testARankReadingAnotherStudyFileEndsTheJobNamingIt() throws {
        let homes = DDPProcess.temporaryFolder("launch-config")
        for (rank, rate) in ["0.1", "0.2"].enumerated() {
            try FileManager.default.createDirectory(atPath: homes + "/\(rank)", withIntermediateDirectories: true)
            try Data("lr = \(rate)\n".utf8).write(to: URL(fileURLWithPath: homes + "/\(rank)/s.toml"))
        }
        let dir = homes + "/run"
        let outcome = try runPerRank(#"cd "$HOMES/$OMPI_COMM_WORLD_RANK" && exec "$DDP" train --data synthetic --config s.toml --steps 2 --run-dir "$RUN""#,
                                     environment: ["DDP": DDPProcess.executable, "HOMES": homes, "RUN": dir])
        assertOneRefusal(outcome, mentioning: ["error: rank 1 on ", "resolved other settings than rank 0 (settings hash ",
                                               ", global batch 64 = 32 per rank x 1 accumulation, 2 steps; rank 0: settings hash ",
                                               "every rank must read the same settings (is a --config file different on that host?)"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "no run folder for a refused launch")
    }
}

