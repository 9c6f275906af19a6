// A test hook: counts heap allocations inside training steps of a real run, on every thread of
// the rank (the step's and the --overlap communication thread), under mpirun and in release
// builds. Allocations made by OpenMPI itself are counted apart: its tuned allreduce allocates
// scratch buffers in every call (5 per call for the MLP's gradients on 2 ranks), which is MPI's. The counter is not part of ddp: the tests LD_PRELOAD libAllocationCounter.so (built
// from Tests/CAllocationCounter) and set DDP_COUNT_ALLOCATIONS=FIRST (1-based step from which to
// count; earlier steps may allocate once, e.g. MPI's first buffers). Without both it does nothing.
import Collective
import Foundation

struct AllocationProbe {
    private typealias Start = @convention(c) () -> Void
    private typealias Count = @convention(c) () -> Int
    private let start: Start
    private let stop: Count
    private let mpiCount: Count
    let firstStep: Int

    /// The probe, when asked for and the counter is preloaded.
    static let current: AllocationProbe? = {
        guard let text = ProcessInfo.processInfo.environment["DDP_COUNT_ALLOCATIONS"], let first = Int(text),
              let start = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "allocation_counter_start_process"),
              let stop = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "allocation_counter_stop_process"),
              let mpi = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "allocation_counter_process_mpi") else { return nil }
        return AllocationProbe(start: unsafeBitCast(start, to: Start.self), stop: unsafeBitCast(stop, to: Count.self),
                               mpiCount: unsafeBitCast(mpi, to: Count.self), firstStep: first)
    }()

    /// `body` (1-based optimizer step `step`), counted from `firstStep` on.
    static func measure<R>(step: Int, _ body: () -> R) -> R {
        guard let probe = current, step >= probe.firstStep else { return body() }
        probe.start()
        defer { _ = probe.stop() }
        return body()
    }

    /// Rank 0 prints every rank's counts, ddp's and OpenMPI's own (its collectives' scratch):
    /// "allocations in steps FIRST+: N0 N1 ... (OpenMPI's own: M0 M1 ...)". Collective when on.
    static func report(comm: Communicator, say: (String) -> Void) {
        guard let probe = current else { return }
        let counts = comm.allgather(UInt64(probe.stop())), mpi = comm.allgather(UInt64(probe.mpiCount()))
        say("allocations in steps \(probe.firstStep)+: " + counts.map(String.init).joined(separator: " ")
            + " (OpenMPI's own: " + mpi.map(String.init).joined(separator: " ") + ")")
    }
}
