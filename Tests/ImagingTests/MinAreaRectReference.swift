import Foundation
import TestSupport

/// cv2.minAreaRect + cv2.boxPoints references for MinAreaRectTests: `Goldens/min_area_rect.json`, written by
/// `Tools/goldens/min_area_rect.py` (all goldens: `Tools/regen_goldens.sh`; do not edit by hand).
let openCVMinAreaRectJSON = try! String(
    contentsOf: TestPaths.packageRoot.appendingPathComponent("Tests/ImagingTests/Goldens/min_area_rect.json"),
    encoding: .utf8)
