// The one door through which MPI return codes become Swift errors.
import CMPI

public struct MPIError: Error, CustomStringConvertible {
    public let function: String
    public let code: Int32

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(function) failed (\(code)): \(message)"
    }

    /// Throws for setup calls; hot-path collectives use `mpiCheck` instead.
    static func check(_ code: Int32, _ function: String) throws {
        if code != MPI_SUCCESS { throw MPIError(function: function, code: code) }
    }
}

/// Collectives inside the training step do not throw: a failed one ends the job.
@inline(__always)
func mpiCheck(_ code: Int32, _ function: StaticString) {
    precondition(code == MPI_SUCCESS, "\(function) failed with MPI error \(code)")
}

/// A communicator that cannot be set up as asked (not an MPI return code).
public struct CommunicatorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
