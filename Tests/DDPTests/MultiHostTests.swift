// A multi-host run on one machine: two network namespaces as two hosts (launch/netns-hosts.sh),
// mpirun's daemon reached through an rsh agent, ranks talking TCP over a private subnet.
// Skipped where namespaces cannot be made (not root, or a container without the capability).
import Foundation
import XCTest

final class MultiHostTests: XCTestCase {
    struct HostsFailed: Error { let message: String }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("launch/netns-hosts.sh").path

    /// Brings up `count` hosts in a new folder and takes them down when the test ends, passed or not.
    /// `rate`: each host's link limited to it (DDP_NETNS_RATE, e.g. "200mbit").
    func hosts(_ count: Int, rate: String? = nil) throws -> String {
        guard getuid() == 0 else { throw XCTSkip("network namespaces need root (ip netns add); running as uid \(getuid())") }
        guard DDPProcess.mpirun != nil else { throw XCTSkip("mpirun is not installed (launch/setup.sh installs it)") }
        let folder = DDPProcess.temporaryFolder("hosts")
        // Registered first: `down` is idempotent and also ends what a failed or hung run left inside.
        addTeardownBlock {
            let down = try? DDPProcess.capture("/bin/bash", [Self.script, "down", folder])
            XCTAssertEqual(down?.status, 0, "netns-hosts.sh down: \(down?.all ?? "did not start")")
        }
        let up = try DDPProcess.capture("/bin/bash", [Self.script, "up", String(count), folder], environment: rate.map { ["DDP_NETNS_RATE": $0] } ?? [:])
        if up.status == 77 { throw XCTSkip("cannot make network or UTS namespaces here: \(up.stderr)") }
        guard up.status == 0 else { throw HostsFailed(message: "netns-hosts.sh up \(count) exited \(up.status): \(up.all)") }
        return folder
    }

    func testTwoHostsOverTCPGiveTheParametersOfTwoRanksOnOneHost() throws {
        let folder = try hosts(2)
        let flags = ["train", "--data", "synthetic", "--steps", "20", "--seed", "3"]
        let multiDir = DDPProcess.temporaryFolder("multihost")
        // The folder's mpirun: on host 1, --hostfile, the rsh agent, btl self,tcp and both
        // *_if_include on the private subnet, --bind-to none. --timeout bounds a hang (a run takes 2 s).
        let multi = try DDPProcess.capture(folder + "/mpirun", ["-np", "2", "--timeout", "45"] + DDPProcess.exportFlags
                                           + [DDPProcess.executable] + flags + ["--run-dir", multiDir])
        XCTAssertEqual(multi.status, 0, multi.all)
        let summary = try DDPProcess.json(multiDir + "/summary.json")

        // Each rank names its own host (MPI_Get_processor_name under the namespace's hostname).
        XCTAssertEqual(summary["hosts"] as? [String], ["ddp-host-1", "ddp-host-2"], multi.all)
        XCTAssertEqual((try DDPProcess.json(multiDir + "/config.json"))["hosts"] as? [String], ["ddp-host-1", "ddp-host-2"])
        XCTAssertEqual(summary["steps"] as? Int, 20)
        let checksums = summary["rank_checksums"] as? [String] ?? []
        XCTAssertEqual(checksums.count, 2)
        XCTAssertEqual(Set(checksums).count, 1, "both hosts hold the same parameters: \(checksums)")
        XCTAssertEqual(checksums.first, summary["param_checksum"] as? String)

        // Two ranks on one host, shared memory instead of TCP: a sum of two floats is the same
        // either way, so the parameters must agree bit for bit.
        let singleDir = DDPProcess.temporaryFolder("onehost")
        let single = try DDPProcess.run(flags + ["--run-dir", singleDir], ranks: 2)
        XCTAssertEqual(single.status, 0, single.all)
        let reference = try DDPProcess.json(singleDir + "/summary.json")
        XCTAssertEqual(Set(reference["hosts"] as? [String] ?? []).count, 1, "the reference ran on one host")
        XCTAssertEqual(summary["param_checksum"] as? String, reference["param_checksum"] as? String)
        XCTAssertEqual(summary["train_loss"] as? Double, reference["train_loss"] as? Double)
    }

    func testRateLimitedLinkHoldsTheAllreduceToItsBandwidth() throws {
        // 200 Mbit/s per link: a ring allreduce of n bytes over 2 ranks sends n bytes out of each
        // host (half in the reduce-scatter, half in the allgather), so it cannot take less than
        // (n - burst) * 8 / rate; tbf lets one burst (64 KB at this rate) through at once.
        let folder = try hosts(2, rate: "200mbit")
        let out = DDPProcess.temporaryFolder("netbench") + ".json"
        let bench = try DDPProcess.capture(folder + "/mpirun", ["-np", "2", "--timeout", "90"] + DDPProcess.exportFlags
                                           + [DDPProcess.executable, "netbench", "--data", "synthetic", "--model", "mlp", "--batch-per-rank", "8",
                                              "--sizes", "16,2048", "--steps", "5", "--warmup", "1", "--project-to", "8", "--out", out])
        XCTAssertEqual(bench.status, 0, bench.all)
        let record = try DDPProcess.json(out)
        let samples = try XCTUnwrap(record["allreduce"] as? [[String: Any]])
        let large = try XCTUnwrap(samples.first { $0["bytes"] as? Int == 2048 * 1024 })
        let seconds = try XCTUnwrap(large["seconds"] as? Double)
        XCTAssertGreaterThanOrEqual(seconds, Double(2048 * 1024 - 65536) * 8 / 200e6, bench.stdout)
        // The same check through the fit: its bandwidth is the link's, not the veth's (several Gbit/s).
        let fit = try XCTUnwrap(record["fit"] as? [String: Double])
        XCTAssertLessThanOrEqual(8 / fit["beta"]!, 200e6 * 1.1, bench.stdout)
        // Where communication stops mattering, per rank count measured and projected: at 8 per rank
        // the MLP's gradient over 200 Mbit/s takes milliseconds, its step well under one, so no
        // batch run holds (null, and said so).
        let thresholds = try XCTUnwrap(record["communication_thresholds"] as? [[String: Any]], bench.stdout)
        XCTAssertEqual(thresholds.map { $0["ranks"] as? Int }, [2, 8])
        XCTAssertTrue(thresholds.allSatisfy { $0["batch_per_rank"] is NSNull && $0["overlap_batch_per_rank"] is NSNull }, "\(thresholds)")
        XCTAssertTrue(bench.stdout.contains("  8 ranks: at none of 8 per rank; with overlap at none of 8 per rank"), bench.stdout)
    }

    func testBucketedAllreduceAcrossRateLimitedHostsGivesTheParametersOfOneHost() throws {
        // Gradient buckets (--overlap --bucket-kb 1: three buckets and the tail a step) over TCP
        // at 1 Gbit/s against the plain allreduce over shared memory: the same sums, bit for bit.
        let folder = try hosts(2, rate: "1gbit")
        let flags = ["train", "--data", "synthetic", "--model", "fc64-bn-relu-fc32-bn-relu-fc10", "--steps", "20", "--seed", "3"]
        let multiDir = DDPProcess.temporaryFolder("multihost-buckets")
        let multi = try DDPProcess.capture(folder + "/mpirun", ["-np", "2", "--timeout", "60"] + DDPProcess.exportFlags
                                           + [DDPProcess.executable] + flags + ["--overlap", "--bucket-kb", "1", "--run-dir", multiDir])
        XCTAssertEqual(multi.status, 0, multi.all)
        XCTAssertEqual((try DDPProcess.json(multiDir + "/config.json"))["overlap"] as? String, "buckets: 3 of >= 1 KB")
        let singleDir = DDPProcess.temporaryFolder("onehost-plain")
        let single = try DDPProcess.run(flags + ["--run-dir", singleDir], ranks: 2)
        XCTAssertEqual(single.status, 0, single.all)
        let (a, b) = (try DDPProcess.json(multiDir + "/summary.json"), try DDPProcess.json(singleDir + "/summary.json"))
        XCTAssertEqual(a["hosts"] as? [String], ["ddp-host-1", "ddp-host-2"])
        for key in ["param_checksum", "train_loss", "gns"] {
            XCTAssertEqual(String(describing: a[key] ?? "missing"), String(describing: b[key] ?? "missing"), key)
        }
    }
}
