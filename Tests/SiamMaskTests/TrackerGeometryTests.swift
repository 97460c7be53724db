import Imaging
import SiamMask
import SiamMaskLayout
import TestSupport
import XCTest

/// The tracker's geometry against values computed by numpy the way the official code computes them.
final class TrackerGeometryTests: XCTestCase {
    func testVOTPolygonRuleMatchesNumpy() {
        // The first line of VOT bag's ground truth; expected values from numpy (get_axis_aligned_bbox).
        let b = TrackerGeometry.votPolygonToBox([334.02, 128.36, 438.19, 188.78, 396.39, 260.83, 292.23, 200.41])
        XCTAssertEqual(b.cx, 365.2075)
        XCTAssertEqual(b.cy, 194.595)
        XCTAssertEqual(b.w, 106.13089774126823)
        XCTAssertEqual(b.h, 96.41442877353934)
    }

    func testHanningWindowMatchesNumpy() {
        let h = TrackerGeometry.hanning(25)
        XCTAssertEqual(h[0], 0)
        XCTAssertEqual(h[24], 0)
        // numpy's vectorised cos (SVML on AVX-512) can differ from libm's by one ulp; in the pscore that is ~1e-17,
        // twelve orders below a near-tie.
        XCTAssertEqual(h[1], 0.01703708685546579, accuracy: 2 * Double.ulpOfOne)
        XCTAssertEqual(h[5], 0.37059047744873963, accuracy: 2 * Double.ulpOfOne)
        XCTAssertEqual(h[12], 1.0)
        let w = TrackerGeometry.cosineWindow(scoreSize: 25, anchors: 5)
        XCTAssertEqual(w.count, 3125)
        XCTAssertEqual(w[625 + 12 * 25 + 12], 1.0)   // every anchor's copy peaks at the centre cell
    }

    func testAnchorGridLayout() {
        let a = TrackerGeometry.anchorGrid(.official, scoreSize: 25)
        XCTAssertEqual(a.count, 3125)
        // n = a*625 + i*25 + j; centre 8*(j-12), 8*(i-12); sizes from the truncation rule.
        XCTAssertEqual(a[0].x, -96); XCTAssertEqual(a[0].y, -96); XCTAssertEqual(a[0].w, 104);
        XCTAssertEqual(a[0].h, 32)
        let n = 4 * 625 + 3 * 25 + 20
        XCTAssertEqual(a[n].x, 64); XCTAssertEqual(a[n].y, -72); XCTAssertEqual(a[n].w, 32); XCTAssertEqual(a[n].h, 96)
    }

    func testCropOriginRoundsHalfToEven() {
        // round(pos - (size + 1) / 2): 10.5 -> 10, 11.5 -> 12 (Python's round), unlike C's round.
        XCTAssertEqual(SubwindowCrop.origin(13.5, size: 5), 10)   // 13.5 - 3 = 10.5
        XCTAssertEqual(SubwindowCrop.origin(14.5, size: 5), 12)   // 11.5
        XCTAssertEqual(SubwindowCrop.origin(10, size: 4), 8)   // 10 - 2.5 = 7.5 -> 8
    }

    func testCropPadsWithTruncatedAverageColour() throws {
        let img = try Image(width: 4, height: 4, channels: 3, pixels: [UInt8](repeating: 200, count: 48))
        let t = SubwindowCrop.crop(
            img, center: (0, 0), modelSize: 6, originalSize: 6, averageColour: [10.9, 20.5, 30.99])
        let v = t.floats
        // The crop starts at round(0 - 3.5) = -4 (half to even): rows and columns 0...3 are padding.
        XCTAssertEqual(v[0], 10); XCTAssertEqual(v[36], 20); XCTAssertEqual(v[72], 30)
        XCTAssertEqual(v[4 * 6 + 4], 200)   // pixel (0, 0) of the image lands at (4, 4)
    }

    func testMaskInitUsesTheBoundingRectangle() {
        var m = [UInt8](repeating: 0, count: 10 * 8)
        m[2 * 10 + 3] = 1; m[5 * 10 + 7] = 255
        let r = TrackerGeometry.boundingRect(of: m, width: 10, height: 8)!
        XCTAssertEqual(r.x, 3); XCTAssertEqual(r.y, 2); XCTAssertEqual(r.w, 5); XCTAssertEqual(r.h, 4)
        XCTAssertNil(TrackerGeometry.boundingRect(of: [UInt8](repeating: 0, count: 4), width: 2, height: 2))
    }
}
