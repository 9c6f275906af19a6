// Allreduces on a dedicated thread, in the order they were posted (`--overlap`): the whole
// reduction buffer while the next batch is assembled, or gradient buckets as backward finishes
// them (GradientBuckets). The main thread makes no MPI call between its first post and `finish`,
// which is all MPI_THREAD_SERIALIZED asks. Posts go into a ring of slots made once; semaphores
// hand them over and back, so nothing is allocated per step.
import Dispatch
import Foundation

public final class BackgroundAllreduce: @unchecked Sendable {
    private let comm: Communicator
    private let request = DispatchSemaphore(value: 0)
    private let completed = DispatchSemaphore(value: 0)
    /// Posted buffers; slot i % capacity holds post i. Written by the main thread before it signals
    /// `request`, read by the worker after its wait: the semaphore orders the two.
    private let slots: UnsafeMutablePointer<UnsafeMutableBufferPointer<Float>>
    private let capacity: Int
    private var posted = 0, finished = 0
    /// Seconds the worker spent inside allreduces since the last `finish` (read after it).
    private var busy = 0.0
    private var stopping = false

    /// `capacity`: most allreduces posted before one `finish` (one per bucket).
    public init(comm: Communicator, capacity: Int = 1) {
        precondition(comm.allowsCollectivesOffMainThread, "the communicator only allows collectives on the main thread")
        precondition(capacity >= 1)
        self.comm = comm
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: UnsafeMutableBufferPointer(start: nil, count: 0), count: capacity)
        let thread = Thread { [self] in
            var taken = 0
            while true {
                request.wait()
                if stopping { break }
                let start = DispatchTime.now().uptimeNanoseconds
                self.comm.allreduceSum(slots[taken % self.capacity])
                busy += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                taken += 1
                completed.signal()
            }
            completed.signal()
        }
        thread.name = "ddp-allreduce"
        thread.start()
    }

    deinit {
        slots.deallocate()
    }

    /// Starts summing `buffer` over ranks after what was posted before; the caller must not touch
    /// it, nor call MPI, until `finish`. Every rank must post the same sequence of lengths.
    public func begin(_ buffer: UnsafeMutableBufferPointer<Float>) {
        precondition(posted - finished < capacity, "more than \(capacity) allreduces posted before finish")
        slots[posted % capacity] = buffer
        posted += 1
        request.signal()
    }

    /// Waits for every allreduce posted; returns the seconds the worker spent in them (how much
    /// communication there was, exposed or hidden).
    @discardableResult
    public func finish() -> Double {
        while finished < posted {
            completed.wait()
            finished += 1
        }
        defer { busy = 0 }
        return busy
    }

    /// Ends the thread and waits for it; call before MPI_Finalize.
    public func stop() {
        finish()
        stopping = true
        request.signal()
        completed.wait()
    }
}
