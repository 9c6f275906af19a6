// One allreduce at a time on a dedicated thread, so the step can assemble the next batch while
// the gradients are summed (`--overlap`). The main thread makes no MPI call between begin and
// finish, which is all MPI_THREAD_SERIALIZED asks. Two semaphores hand the buffer over and
// back; nothing is allocated per step.
import Dispatch
import Foundation

public final class BackgroundAllreduce: @unchecked Sendable {
    private let comm: Communicator
    private let request = DispatchSemaphore(value: 0)
    private let completed = DispatchSemaphore(value: 0)
    private var buffer = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    private var stopping = false

    public init(comm: Communicator) {
        precondition(comm.allowsCollectivesOffMainThread, "the communicator only allows collectives on the main thread")
        self.comm = comm
        let thread = Thread { [self] in
            while true {
                request.wait()
                if stopping { break }
                self.comm.allreduceSum(buffer)
                completed.signal()
            }
            completed.signal()
        }
        thread.name = "ddp-allreduce"
        thread.start()
    }

    /// Starts summing `buffer` over ranks; the caller must not touch it, nor call MPI, until `finish`.
    public func begin(_ buffer: UnsafeMutableBufferPointer<Float>) {
        self.buffer = buffer
        request.signal()
    }

    /// Waits for the allreduce `begin` started.
    public func finish() {
        completed.wait()
    }

    /// Ends the thread and waits for it; call before MPI_Finalize.
    public func stop() {
        stopping = true
        request.signal()
        completed.wait()
    }
}
