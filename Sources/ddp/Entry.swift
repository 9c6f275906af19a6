// The `ddp` executable. Under mpirun every rank parses the same argv; only rank 0 prints a
// usage error, and every rank exits with the same code, before MPI starts, so none is left waiting.
import ArgumentParser
import Collective
import Foundation
import NN
import Training

struct DDP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddp",
        abstract: "Data-parallel neural-network training over MPI, for studying batch-size scaling.",
        discussion: "Launch with mpirun: `mpirun -np 2 ddp train` (as root mpirun also needs --allow-run-as-root; launch/local.sh 2 train adds what is needed). Without mpirun it runs as one rank.",
        subcommands: [Train.self, SweepCommand.self, ReportCommand.self, BenchCommand.self, NetBenchCommand.self])

    @Flag(help: "Print the version, the git commit it was built from, and the MPI and OpenBLAS libraries it runs on.")
    var version = false

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        print(BuildInfo.current.text)
    }
}

@main
enum Entry {
    static func main() {
        let rank = LaunchEnvironment.rank()
        do {
            let expanded = try StudyFile.expand(Array(CommandLine.arguments.dropFirst()))
            var command: ParsableCommand
            do {
                command = try DDP.parseAsRoot(expanded.arguments)
            } catch where DDP.exitCode(for: error) != .success {
                // A bad value or combination that came from the study file: name the file and the key.
                throw expanded.file?.attribute(message: DDP.message(for: error)) ?? error
            }
            // The commands that build models. Every rank reads the same environment, so every rank
            // stops here with the same code: one line from rank 0, exit 64 (EX_USAGE).
            let buildsModels = command is Train || command is SweepCommand || command is BenchCommand || command is NetBenchCommand
            if buildsModels, let problem = DirectKernels.environmentProblem {
                if rank == 0 { FileHandle.standardError.write(Data("error: \(problem)\n".utf8)) }
                exit(ExitCode.validationFailure.rawValue)
            }
            // report and --version are one process's work: under mpirun only rank 0 does it (ranks
            // writing one report.html would race; the version would print once per rank).
            if rank > 0, command is ReportCommand || command is DDP { return }
            try command.run()
        } catch {
            let code = DDP.exitCode(for: error)
            if rank == 0 {
                // One write() for the whole message: under mpirun, a message written in pieces can
                // have mpirun's own banner land in the middle of its first line.
                let message = DDP.fullMessage(for: error)
                if !message.isEmpty {
                    (code.isSuccess ? FileHandle.standardOutput : FileHandle.standardError).write(Data((message + "\n").utf8))
                }
            }
            exit(code.rawValue)
        }
    }
}
