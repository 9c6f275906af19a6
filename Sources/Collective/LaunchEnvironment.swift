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

    /// The communicator for this process: MPI under a launcher, one local rank otherwise.
    public static func makeCommunicator(collectiveTimeout: Double? = nil) throws -> Communicator {
        underMPI() ? try MPICommunicator(collectiveTimeout: collectiveTimeout) : LocalCommunicator()
    }
}
