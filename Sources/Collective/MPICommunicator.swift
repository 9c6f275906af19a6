// Communicator over OpenMPI's MPI_COMM_WORLD. Create it once per process, under mpirun or srun.
import CMPI
import Foundation

public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let hostName: String
    /// SERIALIZED was granted: one thread at a time may call MPI, so an allreduce may run on a
    /// worker thread while the main thread does other work (BackgroundAllreduce).
    public let allowsCollectivesOffMainThread: Bool
    private let world: MPI_Comm
    private var finalized = false

    private var watchdog: CollectiveWatchdog?

    /// `collectiveTimeout`: abort the job when a collective waits longer (CollectiveWatchdog).
    public init(collectiveTimeout: Double? = nil) throws {
        var provided: Int32 = 0
        // SERIALIZED: MPI calls never overlap, but the step's allreduce may come from a worker thread.
        // MULTIPLE with the watchdog, whose thread talks to the other ranks while a collective waits.
        let wanted = collectiveTimeout == nil ? MPI_THREAD_SERIALIZED : MPI_THREAD_MULTIPLE
        let startup = collectiveTimeout.map { StartupWatch(timeout: $0, rank: LaunchEnvironment.rank()) }
        let initialized = MPI_Init_thread(nil, nil, Int32(wanted), &provided)
        startup?.done()
        try MPIError.check(initialized, "MPI_Init_thread")
        allowsCollectivesOffMainThread = provided >= Int32(MPI_THREAD_SERIALIZED)
        world = cmpi_comm_world()
        var r: Int32 = 0, s: Int32 = 0
        try MPIError.check(MPI_Comm_rank(world, &r), "MPI_Comm_rank")
        try MPIError.check(MPI_Comm_size(world, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
        var name = [CChar](repeating: 0, count: Int(MPI_MAX_PROCESSOR_NAME) + 1)
        var length: Int32 = 0
        try MPIError.check(MPI_Get_processor_name(&name, &length), "MPI_Get_processor_name")
        hostName = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if let collectiveTimeout {
            guard provided >= Int32(MPI_THREAD_MULTIPLE) else {
                throw CommunicatorError("this MPI does not provide MPI_THREAD_MULTIPLE, which --collective-timeout needs")
            }
            watchdog = try CollectiveWatchdog(timeout: collectiveTimeout, world: world, rank: rank, size: size, hostName: hostName)
        }
    }

    public func setContext(_ phase: StaticString, step: Int) {
        watchdog?.setContext(phase, step: step)
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        watchdog?.enter("MPI_Allreduce")
        defer { watchdog?.leave() }
        mpiCheck(MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count),
                               cmpi_float(), cmpi_sum(), world), "MPI_Allreduce")
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        watchdog?.enter("MPI_Allreduce")
        defer { watchdog?.leave() }
        mpiCheck(MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count),
                               cmpi_double(), cmpi_sum(), world), "MPI_Allreduce")
    }

    public func allreduceMin(_ buffer: UnsafeMutableBufferPointer<Int32>) {
        watchdog?.enter("MPI_Allreduce")
        defer { watchdog?.leave() }
        mpiCheck(MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count),
                               cmpi_int32(), cmpi_min(), world), "MPI_Allreduce")
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {
        watchdog?.enter("MPI_Bcast")
        defer { watchdog?.leave() }
        mpiCheck(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), cmpi_float(), Int32(root), world), "MPI_Bcast")
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {
        watchdog?.enter("MPI_Bcast")
        defer { watchdog?.leave() }
        guard buffer.count > 0 else { return }
        mpiCheck(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), cmpi_byte(), Int32(root), world), "MPI_Bcast")
    }

    public func allgather(bytes local: [UInt8]) -> [[UInt8]] {
        watchdog?.enter("MPI_Allgather")
        defer { watchdog?.leave() }
        var all = [UInt8](repeating: 0, count: local.count * size)
        local.withUnsafeBufferPointer { send in
            all.withUnsafeMutableBufferPointer { receive in
                mpiCheck(MPI_Allgather(send.baseAddress, Int32(local.count), cmpi_byte(),
                                       receive.baseAddress, Int32(local.count), cmpi_byte(), world), "MPI_Allgather")
            }
        }
        return (0..<size).map { Array(all[$0 * local.count ..< ($0 + 1) * local.count]) }
    }

    public func barrier() {
        watchdog?.enter("MPI_Barrier")
        defer { watchdog?.leave() }
        mpiCheck(MPI_Barrier(world), "MPI_Barrier")
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }

    public func finalize() {
        guard !finalized else { return }
        finalized = true
        MPI_Finalize()
    }
}
