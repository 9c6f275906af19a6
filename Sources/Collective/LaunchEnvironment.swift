// What the launcher (mpirun, srun) told this process through its environment.
// Read by the executable only; libraries take the communicator they are given.
import Foundation

public enum LaunchEnvironment {
    /// This process's rank as the launcher numbered it, before MPI starts (0 without a launcher).
    public static func rank(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let value = environment[key], let rank = Int(value) { return rank }
        }
        return 0
    }

    /// True when started by an MPI launcher, so MPI must be initialised.
    public static func underMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"].contains { environment[$0] != nil }
    }

    /// Whether a person may be watching this process's stdout, so a live progress line (with `\r`
    /// and escape sequences) is welcome. Without a launcher: stdout is a terminal. Under OpenMPI's
    /// mpirun, `isatty` says nothing (mpirun gives local ranks a pseudo-terminal even when its own
    /// output goes to a file or a pipe), so the answer is whether the launcher's own stdout is a
    /// terminal: rank 0's parent is mpirun on its host (/proc/PPID/fd/1). A remote rank's parent is
    /// an orted with no terminal, and a system without /proc gives no answer: both mean no.
    public static func outputIsWatched(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard isatty(STDOUT_FILENO) != 0 else { return false }
        guard underMPI(environment) else { return true }
        let launcherOutput = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(getppid())/fd/1")) ?? ""
        return launcherOutput.hasPrefix("/dev/pts/") || launcherOutput.hasPrefix("/dev/tty")
    }

    /// The communicator for this process: MPI under a launcher, one local rank otherwise. Under a
    /// launcher, every rank must have been started with the same arguments and build, or all end
    /// here (exit 1) with one line from rank 0 (LaunchAgreement).
    public static func makeCommunicator(collectiveTimeout: Double? = nil) throws -> Communicator {
        guard underMPI() else { return LocalCommunicator() }
        let comm = try MPICommunicator(collectiveTimeout: collectiveTimeout)
        LaunchAgreement.require(comm)
        return comm
    }
}
