// The collective watchdog (`--collective-timeout`): a rank that stalls (blocked I/O, a bug,
// SIGSTOP) leaves the others waiting in a collective forever; MPI cannot tell a slow rank from a
// stopped one. Every collective marks when it was entered; a thread checks five times a second.
// Past the timeout, the waiting ranks find each other with point-to-point messages on a
// duplicated communicator (MPI_THREAD_MULTIPLE), the lowest of them names the phase and the ranks
// that never arrived, and MPI_Abort ends the job.
import CMPI
import Dispatch
import Foundation

final class CollectiveWatchdog: @unchecked Sendable {
    private let timeout: Double
    private let rank: Int, size: Int, hostName: String
    private let world: MPI_Comm
    private var probe: MPI_Comm
    private let lock = NSLock()
    private var operation: StaticString = ""
    private var enteredAt: Double?
    private var phase: StaticString = "startup"
    private var step = 0

    init(timeout: Double, world: MPI_Comm, rank: Int, size: Int, hostName: String) throws {
        self.timeout = timeout
        self.world = world
        self.rank = rank
        self.size = size
        self.hostName = hostName
        var duplicate: MPI_Comm?
        try MPIError.check(MPI_Comm_dup(world, &duplicate), "MPI_Comm_dup")
        probe = duplicate!
        let thread = Thread { [self] in watch() }
        thread.name = "ddp-watchdog"
        thread.start()
    }

    func enter(_ operation: StaticString) {
        lock.lock()
        self.operation = operation
        enteredAt = uptime()
        lock.unlock()
    }

    func leave() {
        lock.lock()
        enteredAt = nil
        lock.unlock()
    }

    func setContext(_ phase: StaticString, step: Int) {
        lock.lock()
        self.phase = phase
        self.step = step
        lock.unlock()
    }

    private func watch() {
        while true {
            usleep(200_000)
            lock.lock()
            let waited = enteredAt.map { uptime() - $0 } ?? 0
            let (operation, phase, step) = (self.operation, self.phase, self.step)
            lock.unlock()
            if waited > timeout { giveUp(operation: operation, phase: phase, step: step, waited: waited) }
        }
    }

    /// Finds which ranks are waiting too, lets the lowest of them report, and aborts the job.
    private func giveUp(operation: StaticString, phase: StaticString, step: Int, waited: Double) -> Never {
        var outgoing = [Int64(rank)]
        var incoming = [Int64](repeating: -1, count: size)
        var sends = [MPI_Request?](repeating: nil, count: size)
        var receives = [MPI_Request?](repeating: nil, count: size)
        for other in 0..<size where other != rank {
            _ = MPI_Isend(&outgoing, 1, cmpi_int64(), Int32(other), 77, probe, &sends[other])
            _ = incoming.withUnsafeMutableBufferPointer { buffer in
                MPI_Irecv(buffer.baseAddress! + other, 1, cmpi_int64(), Int32(other), 77, probe, &receives[other])
            }
        }
        // Ranks whose own watchdog fires within this window are waiting as well.
        let deadline = uptime() + min(max(timeout / 2, 1), 5)
        var arrived: Set<Int> = [rank]
        while uptime() < deadline && arrived.count < size {
            for other in 0..<size where other != rank && !arrived.contains(other) {
                var done: Int32 = 0
                _ = MPI_Test(&receives[other], &done, cmpi_status_ignore())
                if done != 0 { arrived.insert(other) }
            }
            usleep(10_000)
        }
        let missing = (0..<size).filter { !arrived.contains($0) }
        if rank == arrived.min() {
            let names = missing.map(String.init).joined(separator: ", ")
            let message = "error: rank \(rank) on \(hostName): collective watchdog: \(operation) in \(phase) (step \(step)) "
                + "waited \(String(format: "%.1f", waited)) s, over --collective-timeout \(timeout); "
                + "rank(s) \(names.isEmpty ? "none" : names) did not arrive; aborting the job\n"
            FileHandle.standardError.write(Data(message.utf8))
            MPI_Abort(world, 3)
        }
        // Not the reporter: give it time to speak, then make sure the job ends anyway.
        sleep(3)
        MPI_Abort(world, 3)
        exit(3)
    }
}

/// Monotonic seconds from Dispatch's uptime clock (Collective does not depend on Tensor's monotonicSeconds).
@inline(__always)
private func uptime() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
}
