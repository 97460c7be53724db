import Foundation
import TestSupport

/// OpenCV 4.6 reference decodes for ImagingTests: `Goldens/opencv_decode.json`, written by
/// `Tools/goldens/opencv_decode.py` (all goldens: `Tools/regen_goldens.sh`; do not edit by hand).
let openCVReferenceJSON = try! String(
    contentsOf: TestPaths.packageRoot.appendingPathComponent("Tests/ImagingTests/Goldens/opencv_decode.json"),
    encoding: .utf8)
