// One rank launched unlike the others, through a real mpirun: other flags, another build, or no
// MPI at all. Each ends the whole job with one error line naming the rank and what differs, a
// non-zero exit and no run folder; none is left waiting (the job runs under `timeout`, whose 124
// would fail the assertions). Before these checks, other --steps on rank 1 crashed the job with
// MPI_ERR_TRUNCATE, other --lr trained to "replicas diverged", and a rank that never called
// MPI_Init left the others in it forever.
import Foundation
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
}
