// Monotonic wall time for phase timing (CLOCK_MONOTONIC: immune to clock changes, ~20 ns to read).
import Foundation

@inline(__always)
public func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}
