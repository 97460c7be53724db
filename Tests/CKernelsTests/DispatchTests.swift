import CKernels
import XCTest

/// Tier names, the SIAMMASK_MAX_TIER cap and the kernel tables.
final class DispatchTests: XCTestCase {
    func testTierFromName() {
        XCTAssertEqual(sm_tier_from_name("reference"), Int32(SM_TIER_REFERENCE.rawValue))
        XCTAssertEqual(sm_tier_from_name("avx2"), Int32(SM_TIER_AVX2.rawValue))
        XCTAssertEqual(sm_tier_from_name("avx512"), Int32(SM_TIER_AVX512.rawValue))
        XCTAssertEqual(sm_tier_from_name("AVX512"), Int32(SM_TIER_AVX512.rawValue))   // case-insensitive
        XCTAssertEqual(sm_tier_from_name("Reference"), Int32(SM_TIER_REFERENCE.rawValue))
        XCTAssertEqual(sm_tier_from_name("Avx2"), Int32(SM_TIER_AVX2.rawValue))
        for bad in ["", "avx", "avx-512", "sse4", " avx2", "avx2 ", "neon", "2"] {
            XCTAssertEqual(sm_tier_from_name(bad), -1, "'\(bad)'")
        }
        XCTAssertEqual(sm_tier_from_name(nil), -1)
    }

    /// The highest tier this build has and this CPU runs.
    var highestSupported: sm_tier {
        [SM_TIER_AVX512, SM_TIER_AVX2].first { sm_tier_supported($0) != 0 && sm_kernels_for_tier($0) != nil }
            ?? SM_TIER_REFERENCE
    }

    func testCap() {
        let highest = highestSupported
        XCTAssertEqual(sm_tier_for_cap(nil), highest)
        XCTAssertEqual(sm_tier_for_cap("reference"), SM_TIER_REFERENCE)
        XCTAssertEqual(sm_tier_for_cap("REFERENCE"), SM_TIER_REFERENCE)
        XCTAssertEqual(sm_tier_for_cap("avx512"), highest)
        XCTAssertEqual(sm_tier_for_cap("avx2"), highest.rawValue >= SM_TIER_AVX2.rawValue ? SM_TIER_AVX2 : highest)
        XCTAssertEqual(sm_tier_for_cap("no-such-tier"), highest)   // ignored, with one line on stderr
    }

    func testActiveTierAndTables() {
        let active = sm_active_tier()
        XCTAssertEqual(sm_active_tier(), active)   // chosen once
        XCTAssertEqual(sm_kernels()?.pointee.tier, active)
        XCTAssertNotEqual(sm_tier_supported(active), 0)
        XCTAssertNotEqual(sm_tier_supported(SM_TIER_REFERENCE), 0)
        XCTAssertEqual(sm_tier_supported(SM_TIER_COUNT), 0)
        XCTAssertNil(sm_kernels_for_tier(SM_TIER_COUNT))
        // Whatever SIAMMASK_MAX_TIER says for this process, the active tier is what the cap function gives for it.
        let cap = ProcessInfo.processInfo.environment["SIAMMASK_MAX_TIER"]
        XCTAssertEqual(active, cap.map { sm_tier_for_cap($0) } ?? sm_tier_for_cap(nil))
        for tier in [SM_TIER_REFERENCE, SM_TIER_AVX2, SM_TIER_AVX512] {
            guard let table: KernelTable = sm_kernels_for_tier(tier) else {
                #if arch(x86_64)
                XCTFail("x86-64 builds have every tier")
                #endif
                continue
            }
            let t = table.pointee
            XCTAssertEqual(t.tier, tier)
            XCTAssertEqual(sm_tier_from_name(t.name), Int32(tier.rawValue))
            XCTAssertNotNil(t.conv2d_f32_packed_floats)
            XCTAssertNotNil(t.conv2d_f32_pack)
            XCTAssertNotNil(t.conv2d_f32_workspace_bytes)
            XCTAssertNotNil(t.conv2d_f32)
            XCTAssertNotNil(t.conv_transpose2d_f32)
            XCTAssertNotNil(t.max_pool2d_f32)
            XCTAssertNotNil(t.depthwise_xcorr_f32)
            XCTAssertNotNil(t.resize_nearest_f32)
            XCTAssertNotNil(t.window_f32)
            XCTAssertNotNil(t.add_f32)
            XCTAssertNotNil(t.sigmoid_f32)
            XCTAssertNotNil(t.softmax2_f32)
        }
    }
}
