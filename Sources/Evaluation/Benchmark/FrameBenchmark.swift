import CKernels
import Dispatch
import Foundation
import ModelFormat
import Runtime
import SiamMask
import SiamMaskLayout
import Tensors

public enum BenchmarkError: Error, Equatable, CustomStringConvertible {
    case badInput(String)

    public var description: String {
        switch self {
        case .badInput(let why): return why
        }
    }
}

/// Times the tracker's per-frame network (tracking search, then refine at cell (12, 12)) through `FrameNetwork`,
/// on a given crop pair or a seeded pseudo-image. Loading (reading, validating, building executors, packing
/// weights) is timed once; the template-side kernels are computed outside every timing.
public final class FrameBenchmark {
    public let frame: FrameNetwork
    public let precision: String
    public let threads: Int
    /// Seconds from opening the file to executors ready with packed weights.
    public let loadSeconds: Double
    public static let cell = (row: 12, column: 12)
    private let crop: Tensor
    private let kernels: [String: Tensor]

    /// - Parameters:
    ///   - search: a 1x3x255x255 float32 search crop; nil: a seeded pseudo-image.
    ///   - template: a 1x3x127x127 float32 exemplar crop; nil: a seeded pseudo-image.
    public init(model url: URL, threads: Int = 1, search: Tensor? = nil, template: Tensor? = nil) throws {
        guard (1...256).contains(threads) else {
            throw BenchmarkError.badInput("threads must be between 1 and 256, not \(threads)")
        }
        let s = SiamMaskNetwork.instanceSize, z = SiamMaskNetwork.exemplarSize
        let crop = try search.map { try Self.checked($0, "search", side: s) } ?? Self.pseudoImage(side: s, seed: 1)
        let exemplar =
            try template.map { try Self.checked($0, "template", side: z) } ?? Self.pseudoImage(side: z, seed: 2)
        let start = DispatchTime.now().uptimeNanoseconds
        let network = try SiamMaskNetwork(model: SiamMaskModel(siamFile: SiamFileReader.read(contentsOf: url)))
        frame = try FrameNetwork(network: network, threads: threads)
        loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var k = try Executor(graph: network.templateKernelsGraph(), threads: threads).run(["template": exemplar])
        k.removeValue(forKey: "zf")
        kernels = k
        self.crop = crop
        self.threads = threads
        precision = network.int8Configuration == nil ? "float32" : "int8"
    }

    private static func checked(_ t: Tensor, _ name: String, side: Int) throws -> Tensor {
        guard t.dtype == .float32, t.shape == [1, 3, side, side] else {
            throw BenchmarkError.badInput(
                "--\(name) must be a 1x3x\(side)x\(side) float32 array, not \(t.dtype) \(t.shape.map(String.init).joined(separator: "x"))"
            )
        }
        return t
    }

    /// A deterministic BGR-like crop: smooth gradients plus seeded noise, integer values in 0...255.
    public static func pseudoImage(side: Int, seed: UInt64) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var v = [Float](repeating: 0, count: 3 * side * side)
        for c in 0..<3 {
            for y in 0..<side {
                for x in 0..<side {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17   // xorshift64
                    let smooth = Double(x * (c + 1) + y * (3 - c)) / Double(4 * side) * 200
                    v[(c * side + y) * side + x] = Float(min(255, (smooth + Double(state % 56)).rounded(.down)))
                }
            }
        }
        return Tensor(shape: [1, 3, side, side], floats: v)
    }

    public var fp32Tier: String { Self.name(of: frame.searchExecutor.tier) }
    /// Whether 3x3 stride-1 float32 convolutions run as Winograd (a fast tier, and SIAMMASK_WINOGRAD not 0).
    public var winograd: Bool { sm_winograd_enabled() != 0 && frame.searchExecutor.tier != SM_TIER_REFERENCE }
    /// The int8 tier of an int8 model; nil for a float32 one.
    public var int8Tier: String? { precision == "int8" ? Self.name(of: sm_int8_active_tier()) : nil }

    /// The tier's name as its kernel table gives it (the names SIAMMASK_MAX_TIER takes).
    static func name(of tier: sm_tier) -> String {
        sm_kernels_for_tier(tier).map { String(cString: $0.pointee.name) } ?? "reference"
    }

    static func name(of tier: sm_int8_tier) -> String {
        sm_int8_kernels_for_tier(tier).map { String(cString: $0.pointee.name) } ?? "reference"
    }

    /// Runs `count` frames; returns each one's wall time in milliseconds.
    public func runFrames(_ count: Int) throws -> [Double] {
        var ms: [Double] = []
        ms.reserveCapacity(count)
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try frame.run(crop: crop, kernels: kernels, row: Self.cell.row, column: Self.cell.column)
            ms.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return ms
    }

    /// Warm-up, then `frames` profiled frames: frame times, per-step medians, tiers, peaks and memory.
    public func measure(frames: Int, warmup: Int) throws -> FrameBenchmarkReport {
        guard frames >= 1 else { throw BenchmarkError.badInput("frames must be at least 1, not \(frames)") }
        guard warmup >= 0 else { throw BenchmarkError.badInput("warmup must not be negative, not \(warmup)") }
        frame.profiling = false
        _ = try runFrames(warmup)
        // Profiling reads the clock once per step (microseconds per frame against milliseconds of work).
        frame.profiling = true
        defer { frame.profiling = false }
        let steps = frame.searchExecutor.steps + frame.refineExecutor.steps
        var stepTimes = [[Double]](repeating: [], count: steps.count)
        var frameMs: [Double] = []
        for _ in 0..<frames {
            frameMs += try runFrames(1)
            let profile = frame.searchExecutor.lastProfile + frame.refineExecutor.lastProfile
            for (i, p) in profile.enumerated() { stepTimes[i].append(p.seconds * 1e3) }
        }
        let peakFP32 = sm_peak_fp32_gflops(frame.searchExecutor.tier, 0.03)
        let peakInt8 = precision == "int8" ? sm_peak_int8_gops(sm_int8_active_tier(), 0.03) : 0
        let layers = zip(steps, stepTimes).map { step, times -> FrameBenchmarkReport.Layer in
            let ms = Self.percentile(times, 0.5)
            let gops = ms > 0 ? 2 * Double(step.multiplyAccumulates) / (ms * 1e-3) / 1e9 : 0
            let peak = step.isInt8 ? peakInt8 : peakFP32
            let percent: Double? =
                step.multiplyAccumulates > 0 && peak > 0 ? 100 * gops / (peak * Double(threads)) : nil
            return .init(
                step: step.name, int8: step.isInt8, ms: ms, gmac: Double(step.multiplyAccumulates) / 1e9, gops: gops,
                percentOfPeak: percent)
        }
        return FrameBenchmarkReport(
            precision: precision, threads: threads, frames: frames, warmup: warmup, loadMs: loadSeconds * 1e3,
            fp32Tier: fp32Tier, int8Tier: int8Tier, winograd: winograd, peakFP32GFlops: peakFP32 > 0 ? peakFP32 : nil,
            peakInt8GOps: peakInt8 > 0 ? peakInt8 : nil, frameMs: frameMs, medianMs: Self.percentile(frameMs, 0.5),
            p10Ms: Self.percentile(frameMs, 0.1), p90Ms: Self.percentile(frameMs, 0.9),
            gmacPerFrame: Double(steps.reduce(0) { $0 + $1.multiplyAccumulates }) / 1e9, layers: layers,
            peakMemoryMiB: Self.peakResidentMiB())
    }

    /// Linear interpolation between closest ranks (numpy's default).
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let x = q * Double(s.count - 1)
        let lo = Int(x.rounded(.down)), hi = min(lo + 1, s.count - 1)
        return s[lo] + (s[hi] - s[lo]) * (x - Double(lo))
    }

    /// Peak resident set size of this process (getrusage: kilobytes on Linux, bytes on Darwin).
    public static func peakResidentMiB() -> Double {
        #if os(Linux)
        let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)   // Glibc imports the enum, getrusage takes an Int32
        #endif
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF_WHO, &usage)
        return Double(usage.ru_maxrss) / 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / 1024 / 1024
        #endif
    }

    // MARK: serve mode (line protocol for interleaved peer benchmarks)

    /// The line printed once the model is loaded and warmed up.
    public func readyLine() -> String {
        Self.jsonLine([
            "ready": true, "load_ms": loadSeconds * 1e3, "precision": precision, "fp32_tier": fp32Tier,
            "winograd": winograd,
            "int8_tier": int8Tier ?? NSNull(), "threads": threads,
        ])
    }

    /// Answers one request line: an integer N runs N frames; nil for `quit`. Errors are answered, never thrown.
    public func respond(to line: String) -> String? {
        let request = line.trimmingCharacters(in: .whitespaces)
        if request == "quit" { return nil }
        guard let n = Int(request) else {
            return Self.jsonLine(["error": "expected a frame count or quit, got '\(request)'"])
        }
        guard (1...100_000).contains(n) else {
            return Self.jsonLine(["error": "frame count must be between 1 and 100000, not \(n)"])
        }
        do {
            return Self.jsonLine(["frames": n, "ms": try runFrames(n)])
        } catch {
            return Self.jsonLine(["error": "\(error)"])
        }
    }

    static func jsonLine(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// What `siammask bench` reports.
public struct FrameBenchmarkReport {
    public struct Layer {
        public var step: String
        public var int8: Bool
        public var ms: Double
        public var gmac: Double
        public var gops: Double
        public var percentOfPeak: Double?
    }

    public var precision: String
    public var threads: Int
    public var frames: Int
    public var warmup: Int
    public var loadMs: Double
    public var fp32Tier: String
    public var int8Tier: String?
    public var winograd: Bool
    public var peakFP32GFlops: Double?
    public var peakInt8GOps: Double?
    public var frameMs: [Double]
    public var medianMs: Double
    public var p10Ms: Double
    public var p90Ms: Double
    public var gmacPerFrame: Double
    public var layers: [Layer]
    public var peakMemoryMiB: Double

    public var json: String {
        let object: [String: Any] = [
            "precision": precision, "threads": threads, "frames": frames, "warmup": warmup, "load_ms": loadMs,
            "fp32_tier": fp32Tier, "int8_tier": int8Tier ?? NSNull(), "winograd": winograd,
            "peak_fp32_gflops": peakFP32GFlops ?? NSNull(), "peak_int8_gops": peakInt8GOps ?? NSNull(),
            "frame_ms": ["median": medianMs, "p10": p10Ms, "p90": p90Ms, "all": frameMs],
            "gmac_per_frame": gmacPerFrame, "peak_memory_mib": peakMemoryMiB,
            "layers": layers.map { l -> [String: Any] in
                [
                    "step": l.step, "int8": l.int8, "ms": l.ms, "gmac": l.gmac, "gops": l.gops,
                    "percent_of_peak": l.percentOfPeak ?? NSNull(),
                ]
            },
        ]
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public var text: String {
        func f(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }
        var lines: [String] = []
        lines.append(
            "precision \(precision), \(threads) thread(s), tiers: fp32 \(fp32Tier)\(winograd ? " (Winograd 3x3)" : ""), int8 \(int8Tier ?? "none")"
        )
        lines.append(
            "peak per thread: fp32 \(peakFP32GFlops.map { f($0, 1) + " GFLOP/s" } ?? "none"), int8 \(peakInt8GOps.map { f($0, 1) + " GOP/s" } ?? "none")"
        )
        lines.append("model load: \(f(loadMs, 1)) ms (read, validate, build executors, pack weights)")
        lines.append(
            "per frame (search + refine at (12,12)), \(frames) frames after \(warmup) warm-up: median \(f(medianMs)) ms, p10 \(f(p10Ms)) ms, p90 \(f(p90Ms)) ms, \(f(gmacPerFrame, 3)) GMAC"
        )
        lines.append("peak memory (max RSS): \(f(peakMemoryMiB, 1)) MiB")
        lines.append("")
        let width = max(4, layers.map(\.step.count).max() ?? 4)
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        lines.append(
            pad("step", width, left: true) + pad("ms", 10) + pad("GMAC", 10) + pad("GOP/s", 10) + pad("% peak", 8))
        for l in layers {
            lines.append(
                pad(l.step, width, left: true) + pad(f(l.ms, 3), 10) + pad(l.gmac > 0 ? f(l.gmac, 4) : "-", 10)
                    + pad(l.gmac > 0 ? f(l.gops, 1) : "-", 10) + pad(l.percentOfPeak.map { f($0, 1) } ?? "-", 8))
        }
        return lines.joined(separator: "\n")
    }
}
