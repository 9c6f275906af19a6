// swift-tools-version:6.0
// swift-ddp: data-parallel neural-network training over OpenMPI, math through OpenBLAS.
// Targets form a one-way graph: ddp -> (Training, Report) and Training -> (NN, Optim, Data, Collective) -> (Tensor, C shims).
import PackageDescription

let package = Package(
    name: "swift-ddp",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ddp", targets: ["ddp"]),
        // The malloc counter as a shared library, for LD_PRELOAD into ddp's ranks (allocation tests).
        .library(name: "AllocationCounter", type: .dynamic, targets: ["CAllocationCounter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Study files (--config FILE.toml); the CLI alone reads and writes TOML.
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
    ],
    targets: [
        // C doors: each imported by exactly one Swift target.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // The stop-signal flag (SIGTERM, SIGINT, SIGUSR1): a handler that only sets it, in C.
        .target(name: "CSignal"),
        // Direct convolution kernels (AVX-512 and AVX2, chosen at run time); optimized in debug
        // builds too, since the in-process tests run them on real layer sizes.
        .target(name: "CConv", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "Collective", dependencies: ["CMPI"]),
        .target(name: "Tensor", dependencies: ["CBLAS"]),
        .target(name: "NN", dependencies: ["Tensor", "CConv"]),
        .target(name: "Data", dependencies: ["CZlib", "Tensor"]),
        .target(name: "Optim", dependencies: ["Tensor"]),
        .target(name: "Training", dependencies: ["Collective", "Tensor", "NN", "Data", "Optim", "CSignal"]),
        // Reads run and sweep folders and writes one HTML page; Foundation only.
        // papers.csv: the published figures the report's "paper" table sets beside a sweep's.
        .target(name: "Report", dependencies: ["Data"], resources: [.embedInCode("papers.csv")]),
        .executableTarget(name: "ddp", dependencies: [
            "Training", "Collective", "Data", "NN", "Optim", "Tensor", "Report",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),

        // Real IDX folders for tests (swift-numerics keeps shared test helpers in a target like this).
        .target(name: "TestSupport", dependencies: ["Data"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "TestSupport"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "Tensor"]),
        // Interposes malloc in the test executable to count allocations inside the training step.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Collective", "Data", "NN", "Tensor", "CAllocationCounter", "Report", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "TestSupport"]),
        // Runs the built `ddp` as a user does, alone and under a real mpirun.
        .testTarget(name: "DDPTests", dependencies: ["Data", "TestSupport", "ddp"]),
    ]
)
