import Foundation
import TestSupport

/// Small checkpoints written by real torch.save (Debian python3-torch 1.13, CPU): `Tests/ImportersTests/Goldens/*.pth`,
/// written by `Tools/goldens/pytorch_checkpoints.py` (all goldens: `Tools/regen_goldens.sh`), which also lists what
/// each holds. The legacy files name their storages "0", "1", ... instead of torch's memory addresses, so that they
/// are reproducible.
enum PTEmbeddedCheckpoints {
    /// zip, pickle protocol 5: views of one storage (transpose, row, column), scalar, float16/int32/uint8/int8, empty, Parameter.
    static let viewsZipP5 = load("viewsZipP5")
    /// legacy stream, protocol 2: the same tensors.
    static let viewsLegacyP2 = load("viewsLegacyP2")
    /// zip wrapper whose ignored entries hold float64 and bool tensors, numpy arrays and scalars, a set and bytes.
    static let ignoredZipP2 = load("ignoredZipP2")
    /// legacy stream, protocol 4: the same wrapper.
    static let ignoredLegacyP4 = load("ignoredLegacyP4")

    private static func load(_ name: String) -> [UInt8] {
        let url = TestPaths.packageRoot.appendingPathComponent("Tests/ImportersTests/Goldens/\(name).pth")
        return [UInt8](try! Data(contentsOf: url))
    }
}
