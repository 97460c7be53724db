// swift-tools-version: 6.2
// siammask: convert, quantise, track and validate SiamMask on the CPU.
import PackageDescription

let package = Package(
    name: "siammask",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "siammask", targets: ["siammask"]),
        .library(name: "SiamMask", targets: ["SiamMask"]),
        // Every reader of untrusted input, for the libFuzzer targets in Fuzz/ (a separate package; Tools/fuzz.sh).
        .library(name: "SiamMaskReaders",
                 targets: ["Tensors", "ModelFormat", "Importers", "Imaging", "Evaluation", "Quantization"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C: every kernel with its scalar reference twin, CPU-feature dispatch. No Swift above it touches SIMD.
        .target(name: "CKernels", path: "Sources/CKernels", exclude: ["README.md"]),
        // zstd from Debian, through pkg-config.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        // protobuf-c code generated from Schemas/onnx-subset.proto (committed; regenerate with Tools/gen-onnx-protobuf-c.sh).
        .target(name: "CONNX", path: "Sources/CONNX", exclude: ["README.md"],
                linkerSettings: [.linkedLibrary("protobuf-c")]),

        // JPEG (libturbojpeg, TurboJPEG 2.x API) and PNG (libspng) from Debian, behind a small C shim.
        .target(name: "CImageIO", path: "Sources/CImageIO", exclude: ["README.md"],
                linkerSettings: [.linkedLibrary("turbojpeg"), .linkedLibrary("spng")]),

        // Swift layers, dependencies pointing down only.
        .target(name: "Tensors", exclude: ["README.md"]),
        .target(name: "SiamMaskLayout", dependencies: ["Tensors", "ModelFormat"], exclude: ["README.md"]),
        .target(name: "ModelFormat", dependencies: ["Tensors", "CZstd"], exclude: ["README.md"]),
        .target(name: "Importers", dependencies: ["Tensors", "SiamMaskLayout", "ModelFormat", "CONNX"], exclude: ["README.md"]),
        .target(name: "Runtime", dependencies: ["Tensors", "CKernels"], exclude: ["README.md"]),
        // Generic calibration and quantisation maths (observers, range reduction, tables); knows no SiamMask.
        .target(name: "Quantization", dependencies: ["Tensors"], exclude: ["README.md"]),
        .target(name: "SiamMask", dependencies: ["Tensors", "SiamMaskLayout", "ModelFormat", "Runtime", "Imaging", "Quantization"], exclude: ["README.md"]),
        .target(name: "Imaging", dependencies: ["CImageIO"], exclude: ["README.md"]),
        .target(name: "Synthetic", dependencies: ["Imaging"], exclude: ["README.md"]),
        .target(name: "Evaluation", dependencies: ["Imaging", "Tensors", "Runtime", "CKernels", "SiamMask", "SiamMaskLayout", "ModelFormat", "Quantization"], exclude: ["README.md", "Metrics/README.md"]),
        .target(name: "SiamMaskCLI", dependencies: [
            "Tensors", "SiamMaskLayout", "ModelFormat", "Importers", "Runtime", "SiamMask", "Imaging", "Synthetic", "Evaluation", "Quantization",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: ["README.md"]),
        .executableTarget(name: "siammask", dependencies: ["SiamMaskCLI"]),

        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"]),
        .testTarget(name: "SiamMaskLayoutTests", dependencies: ["SiamMaskLayout", "TestSupport"]),
        .testTarget(name: "ModelFormatTests", dependencies: ["ModelFormat", "TestSupport"]),
        .testTarget(name: "ImportersTests", dependencies: ["Importers", "ModelFormat", "SiamMaskLayout", "TestSupport"], exclude: ["Goldens"]),
        .testTarget(name: "CKernelsTests", dependencies: ["CKernels", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "CKernels", "TestSupport"], exclude: ["Goldens"]),
        .testTarget(name: "SiamMaskTests", dependencies: ["SiamMask", "Importers", "Imaging", "Evaluation", "Synthetic", "TestSupport",
                                                         "Quantization", "Runtime", "ModelFormat", "SiamMaskLayout", "Tensors"], exclude: ["Goldens"]),
        .testTarget(name: "CLITests", dependencies: ["SiamMaskCLI", "TestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"], exclude: ["Goldens"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Imaging", "TestSupport"]),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization", "TestSupport"]),
        .testTarget(name: "SyntheticTests", dependencies: ["Synthetic", "Imaging", "TestSupport"]),
    ]
)
