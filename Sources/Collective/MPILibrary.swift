// The MPI library this executable runs on, as it names itself (for --version and config.json).
import CMPI
import Foundation

public enum MPILibrary {
    /// MPI_Get_library_version's first line, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...";
    /// the MPI standard allows the call before MPI_Init, so `ddp --version` starts no MPI.
    public static var version: String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == MPI_SUCCESS else { return "unknown" }
        let text = String(cString: buffer)
        return text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown"
    }
}
