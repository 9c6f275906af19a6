// One temporary folder per test process, holding every folder the tests make, removed when the
// process exits: a full run of the suite made about 1,700 folders in /tmp and left them there.
import Foundation

public enum TestScratch {
    /// NSTemporaryDirectory()/ddp-tests-<12 hex>, made on first use; removed at exit (a crashed
    /// process leaves it, with what it held for a look). Names are short because sockets live in
    /// some of these folders (launch/slurm-local.sh), and a socket's path holds at most 107 bytes.
    public static let root: String = {
        let path = NSTemporaryDirectory() + "ddp-tests-" + unique()
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestScratch.root) }
        return path
    }()

    /// A fresh path inside `root` named after `name` (not created: callers create files or folders).
    public static func path(_ name: String) -> String {
        root + "/" + name + "-" + unique()
    }

    /// 48 random bits (12 hex digits of a UUID): two of a process's few thousand paths meet with
    /// odds near 1e-8.
    private static func unique() -> String {
        String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12))
    }
}
