import CKernels
import XCTest
@testable import Runtime

/// Packed float32 weights depend on the tier and the layout alone, so one pack serves every shape that uses the same
/// layout (the template branch's 127x127 crops and the search branch's 255x255 ones).
final class WeightPackingTests: XCTestCase {
    func testOnePackPerTierAndLayout() throws {
        let c = 16, o = 16
        let w = ConvolutionWeights(
            name: "conv", weights: (0..<(o * c * 9)).map { Float($0 % 7) - 3 }, bias: nil,
            outChannels: o, inChannels: c, kernel: 3)
        func shape(_ side: Int32, pad: Int32, dilation: Int32 = 1) -> sm_conv2d_shape {
            let out = side + 2 * pad - 2 * dilation
            return sm_conv2d_shape(
                in_channels: Int32(c), in_height: side, in_width: side, out_channels: Int32(o),
                out_height: out, out_width: out, kernel_h: 3, kernel_w: 3, stride_h: 1, stride_w: 1,
                pad_top: pad, pad_left: pad, dilation_h: dilation, dilation_w: dilation)
        }
        let tables = [SM_TIER_REFERENCE, SM_TIER_AVX2, SM_TIER_AVX512].compactMap {
            tier -> UnsafePointer<sm_kernel_table>? in
            sm_tier_supported(tier) != 0 ? sm_kernels_for_tier(tier) : nil
        }
        for table in tables {
            let search = w.packed(for: table, shape: shape(31, pad: 1))
            XCTAssertEqual(w.packed(for: table, shape: shape(15, pad: 1)), search, "another spatial size, same layout")
            XCTAssertEqual(w.packed(for: table, shape: shape(31, pad: 2, dilation: 2)), search, "dilation, same layout")
            var small = shape(3, pad: 0)   // a 1x1 output: never Winograd
            if table.pointee.tier != SM_TIER_REFERENCE {
                XCTAssertEqual(table.pointee.conv2d_f32_packing(&small), 0)
                XCTAssertNotEqual(w.packed(for: table, shape: small), search, "GEMM panels are another layout")
            } else {
                XCTAssertEqual(w.packed(for: table, shape: small), search, "the reference keeps OIHW for every shape")
            }
        }
    }
}
