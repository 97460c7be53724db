// swift-tools-version: 6.0
// The README's "Using it from Swift" example as a package of its own, depending on this repository's SiamMask
// library only: swift build --package-path Tools/examples/track-folder
import PackageDescription

let package = Package(
    name: "track-folder",
    dependencies: [.package(name: "siammask", path: "../../..")],
    targets: [.executableTarget(name: "track-folder", dependencies: [.product(name: "SiamMask", package: "siammask")])]
)
