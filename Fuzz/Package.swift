// swift-tools-version: 5.9
// Coverage-guided fuzz targets (libFuzzer) for every reader of hostile input. A package of its own, beside the main
// one: each target defines LLVMFuzzerTestOneInput and has no main (libFuzzer supplies it), so it links only when
// built with `-sanitize=fuzzer`. Build and run through Tools/fuzz.sh; Fuzz/README.md says what each target covers.
import PackageDescription

let readers: [Target.Dependency] = ["FuzzDriver", .product(name: "SiamMaskReaders", package: "siammask")]

let package = Package(
    name: "siammask-fuzz",
    dependencies: [.package(name: "siammask", path: "..")],
    targets: [
        .target(name: "FuzzDriver", path: "Sources/FuzzDriver"),
        .executableTarget(name: "fuzz-siam", dependencies: readers, path: "Sources/FuzzSiam"),
        .executableTarget(name: "fuzz-pth", dependencies: readers, path: "Sources/FuzzPTH"),
        .executableTarget(name: "fuzz-onnx", dependencies: readers, path: "Sources/FuzzONNX"),
        .executableTarget(name: "fuzz-npy", dependencies: readers, path: "Sources/FuzzNPY"),
        .executableTarget(name: "fuzz-image", dependencies: readers, path: "Sources/FuzzImage"),
        .executableTarget(name: "fuzz-groundtruth", dependencies: readers, path: "Sources/FuzzGroundTruth"),
        .executableTarget(name: "fuzz-sequence", dependencies: readers, path: "Sources/FuzzSequence"),
        .executableTarget(name: "fuzz-calibration", dependencies: readers, path: "Sources/FuzzCalibration"),
    ]
)
