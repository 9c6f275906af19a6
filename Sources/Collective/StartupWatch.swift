// The watchdog before the watchdog: MPI_Init waits for every rank of the job, so a rank that never
// calls it (it exited 0 with another command, stalled in a wrapper, or started another program)
// leaves the others in MPI_Init forever, where no collective watchdog runs yet. With
// --collective-timeout, a thread started just before MPI_Init ends this rank (exit 1, which makes
// mpirun end the job) when MPI_Init has not returned within the timeout. MPI cannot say which rank
// is missing before it starts, so the message says what is known: this rank waited.
import Dispatch
import Foundation

final class StartupWatch: @unchecked Sendable {
    private let started = DispatchSemaphore(value: 0)

    /// `rank`: as the launcher numbered this process. The lowest waiting rank speaks first; the
    /// others wait 2 s a rank more (at most 10 s), by which time mpirun has usually ended them.
    init(timeout: Double, rank: Int) {
        let thread = Thread { [started] in
            guard started.wait(timeout: .now() + timeout) == .timedOut else { return }
            guard started.wait(timeout: .now() + Double(min(rank, 5)) * 2) == .timedOut else { return }
            let message = "error: rank \(rank) on \(StartupWatch.hostName()): MPI_Init waited \(String(format: "%g", timeout)) s, "
                + "over --collective-timeout \(String(format: "%g", timeout)): not every rank of the job started MPI "
                + "(one exited or stalled before it: another command or program on that rank, a wrapper that hangs); ending the job\n"
            FileHandle.standardError.write(Data(message.utf8))
            // _exit: exit's handlers could wait on the MPI_Init that never returns.
            _exit(1)
        }
        thread.name = "ddp-startup-watch"
        thread.start()
    }

    /// MPI_Init returned: the watch ends.
    func done() { started.signal() }

    /// gethostname, not ProcessInfo.hostName (which may ask DNS, the kind of wait this watch is about).
    static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "?" }
        return String(cString: name)
    }
}
