import ArgumentParser
import Evaluation
import Foundation
import SiamMask
import Synthetic

/// `siammask soak`: tracks a long synthetic sequence rendered in memory (no frame files) and checks that the tracker
/// can run for hours: resident memory flat, time per frame flat, every state and result finite and inside the image.
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract:
            "Track a long generated sequence in memory: resident memory, time per frame and NaN/Inf, with a verdict.",
        discussion: """
            Frames come from the synthetic generator (seed, size, difficulty as `synth`), rendered one at a time and \
            never written. Each frame records the current resident set (/proc/self/statm), the peak resident set \
            (getrusage), the tracker's wall and CPU time (rendering excluded), and whether the state and the result \
            are finite and inside the image. Verdict, with B = frames/10: the peak resident set grows by less than \
            --max-growth MiB from frame B to the end; no non-finite value; no state outside the image; the median CPU \
            time of the last B frames is within --time-tolerance of the median of frames B..2B. Exit 1 when it fails.
            """)

    @Argument(help: "The .siam model (float32, int8 or mixed).")
    var model: String

    @Option(parsing: .unconditional, help: "Frames tracked after the first (at least 20).")
    var frames: Int = 10_000

    @Option(parsing: .unconditional, help: "Seed of the generated sequence.")
    var seed: UInt64 = 7

    @Option(parsing: .unconditional, help: "Frame width.")
    var width: Int = 854

    @Option(parsing: .unconditional, help: "Frame height.")
    var height: Int = 480

    @Option(help: "easy, medium or hard.")
    var difficulty: String = "medium"

    @OptionGroup var presetOption: PresetOption

    @OptionGroup var threadsOption: ThreadsOption

    @Option(help: "Largest allowed growth of the peak resident set after frame B, MiB.")
    var maxGrowth: Double = 2

    @Option(help: "Largest allowed relative change of the median CPU time per frame (0.10 = 10%).")
    var timeTolerance: Double = 0.10

    @Option(help: ArgumentHelp("Write the summary and the per-frame series as JSON.", valueName: "file"))
    var report: String?

    func validate() throws {
        guard frames >= 20, frames < SynthOptions.maxFrames else {
            throw ValidationError("--frames must be between 20 and \(SynthOptions.maxFrames - 1)")
        }
        guard maxGrowth > 0, timeTolerance > 0 else {
            throw ValidationError("--max-growth and --time-tolerance must be positive")
        }
    }

    func run() throws {
        guard let level = Difficulty(rawValue: difficulty.lowercased()) else {
            throw ValidationError("--difficulty must be easy, medium or hard (got \"\(difficulty)\")")
        }
        let options = SynthOptions(seed: seed, frames: frames + 1, width: width, height: height, difficulty: level)
        let generator = try reporting("cannot generate the sequence") { try SequenceGenerator(options: options) }
        let network = try loadNetwork(model)
        let preset = try reporting("cannot choose the preset") { try presetOption.value.resolved(for: network.model) }
        let tracker = try reporting("cannot start the tracker") {
            try SiamMaskTracker(network: network, preset: preset, threads: threadsOption.threads)
        }
        let result = try reporting("soak") {
            try SoakRun.run(tracker: tracker, frames: SyntheticFrames(generator), count: frames) { done in
                if done % 1000 == 0 { FileHandle.standardError.write(Data("\(done) frames\n".utf8)) }
            }
        }
        let verdict = result.verdict(maxGrowthMiB: maxGrowth, timeTolerance: timeTolerance)
        print(
            String(
                format: "soak: %d frames %dx%d (seed %llu, %@), %@ model, %@ preset, %d thread(s)", frames, width,
                height,
                seed, level.rawValue, network.model.precision, preset.name, threadsOption.threads))
        for line in verdict.lines { print(line) }
        if let path = report {
            let json = result.json(
                verdict: verdict,
                context: [
                    "model": model, "precision": "\(network.model.precision)", "preset": preset.name, "seed": "\(seed)",
                    "size": "\(width)x\(height)", "difficulty": level.rawValue, "threads": "\(threadsOption.threads)",
                ])
            try reporting("cannot write \(path)") {
                try json.write(to: URL(fileURLWithPath: path), options: Data.WritingOptions.atomic)
            }
        }
        if !verdict.passed { throw ExitCode(1) }
    }
}

/// The synthetic generator as a frame source: frames rendered on demand, none kept.
final class SyntheticFrames: FrameSource {
    let generator: SequenceGenerator
    private(set) var index = 0
    /// Process CPU seconds spent rendering so far (taken out of the tracker's CPU time per frame).
    private(set) var renderCPUSeconds = 0.0

    init(_ generator: SequenceGenerator) { self.generator = generator }

    /// The first frame's target as a VOT polygon (the ground truth `synth` writes).
    func initialTarget() throws -> TrackerInitialization {
        guard let r = generator.render(frame: 0).rectangle else {
            throw CommandFailure("the target is not visible in frame 0")
        }
        return .polygon(r.corners.flatMap { [$0.x, $0.y] })
    }

    func next() throws -> Image? {
        guard index < generator.frameCount else { return nil }
        defer { index += 1 }
        let c0 = ProcessProbe.cpuSeconds()
        let image = generator.render(frame: index).image
        renderCPUSeconds += ProcessProbe.cpuSeconds() - c0
        return image
    }
}

/// Process memory and time, read per frame.
enum ProcessProbe {
    /// Current resident set in KiB (/proc/self/statm, second field: resident pages); 0 where there is no /proc.
    static func residentKiB() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var bytes = (0..<64).map { _ in UInt8(0) }
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return 0 }
        // "size resident shared text lib data dt": the second number.
        var field = 0, value = 0
        for b in bytes[..<count] {
            if b == UInt8(ascii: " ") {
                if field == 1 { break }
                field += 1
                value = 0
            } else if b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
                value = value * 10 + Int(b - UInt8(ascii: "0"))
            }
        }
        return field == 1 ? value * sysconf(Int32(_SC_PAGESIZE)) / 1024 : 0
    }

    /// Peak resident set in KiB (getrusage).
    static func peakResidentKiB() -> Int { Int(FrameBenchmark.peakResidentMiB() * 1024) }

    /// CPU time of the whole process (every thread), seconds.
    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// One soak run: per-frame series and the checks of each frame.
struct SoakRun {
    var residentKiB: [Int32] = []
    var peakKiB: [Int32] = []
    var wallMs: [Float] = []
    var cpuMs: [Float] = []
    var scores: [Float] = []
    /// The target's size after each frame (the crop, and so the work, grows with it).
    var sizes: [(Float, Float)] = []
    var lost: [Bool] = []
    /// Frames (1-based) whose state or result held a NaN or an infinity.
    var nonFiniteFrames: [Int] = []
    /// Frames whose state left the image (centre outside [0, W] x [0, H], size outside [10, max(10, W or H)]).
    var outOfBoundsFrames: [Int] = []

    /// Starts `tracker` on the first frame of `frames`, tracks `count` further frames.
    static func run(
        tracker: SiamMaskTracker, frames: SyntheticFrames, count: Int, progress: (Int) -> Void = { _ in }
    ) throws -> SoakRun {
        var run = SoakRun()
        run.reserve(count)
        let target = try frames.initialTarget()
        var lastCPU = ProcessProbe.cpuSeconds(), lastRender = frames.renderCPUSeconds
        try tracker.track(frames, maxFrames: count, target: { _ in target }) { index, frame, result in
            // CPU time since the previous frame's result, less the rendering of this frame.
            let cpu = ProcessProbe.cpuSeconds(), render = frames.renderCPUSeconds
            run.check(
                index, frame: frame, result: result, state: tracker.state,
                cpuSeconds: cpu - lastCPU - (render - lastRender))
            lastCPU = cpu
            lastRender = render
            progress(index)
        }
        return run
    }

    /// Sizes every per-frame series for `count` frames up front: a series doubling its buffer mid-run (at 4,096 and
    /// 8,192 frames) would be the soak's own memory growth, measured as the tracker's.
    mutating func reserve(_ count: Int) {
        residentKiB.reserveCapacity(count); peakKiB.reserveCapacity(count)
        wallMs.reserveCapacity(count); cpuMs.reserveCapacity(count)
        scores.reserveCapacity(count); lost.reserveCapacity(count); sizes.reserveCapacity(count)
    }

    /// Records frame `index` (1-based): its result, the state after it and the tracker's CPU seconds on it.
    mutating func check(
        _ index: Int, frame: Image, result r: TrackResult,
        state: (center: (x: Double, y: Double), size: (width: Double, height: Double)), cpuSeconds: Double
    ) {
        cpuMs.append(Float(cpuSeconds * 1000))
        wallMs.append(Float((r.timings.crop + r.timings.network + r.timings.post) * 1000))
        residentKiB.append(Int32(clamping: ProcessProbe.residentKiB()))
        peakKiB.append(Int32(clamping: ProcessProbe.peakResidentKiB()))
        scores.append(r.score)
        sizes.append((Float(state.size.width), Float(state.size.height)))
        lost.append(r.isTargetLost)
        let (W, H) = (Double(frame.width), Double(frame.height))
        var finite = [state.center.x, state.center.y, state.size.width, state.size.height, r.bestPScore].allSatisfy(
            \.isFinite)
        finite = finite && r.score.isFinite && r.polygon.allSatisfy { $0.x.isFinite && $0.y.isFinite }
        finite = finite && r.probability.allSatisfy(\.isFinite)
        if !finite { nonFiniteFrames.append(index) }
        let inside =
            (0...W).contains(state.center.x) && (0...H).contains(state.center.y)
            && (10...max(10, W)).contains(state.size.width) && (10...max(10, H)).contains(state.size.height)
        if !inside { outOfBoundsFrames.append(index) }
    }

    struct Verdict {
        var passed: Bool
        var lines: [String]
        var figures: [String: Double]
    }

    static func median(_ v: ArraySlice<Float>) -> Double {
        let s = v.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? Double(s[s.count / 2]) : (Double(s[s.count / 2 - 1]) + Double(s[s.count / 2])) / 2
    }

    func verdict(maxGrowthMiB: Double, timeTolerance: Double) -> Verdict {
        let n = residentKiB.count
        let b = max(1, n / 10)
        let mib = { (k: Int32) in Double(k) / 1024 }
        let peakGrowth = mib(peakKiB[n - 1]) - mib(peakKiB[b - 1])
        let currentGrowth = mib(residentKiB[(n - b)...].max()!) - mib(residentKiB[b - 1])
        let reference = Self.median(cpuMs[b..<min(n, 2 * b)]), last = Self.median(cpuMs[(n - b)...])
        let ratio = reference > 0 ? last / reference : 1
        let wallReference = Self.median(wallMs[b..<min(n, 2 * b)]), wallLast = Self.median(wallMs[(n - b)...])
        let memoryOK = peakGrowth < maxGrowthMiB
        let timeOK = abs(ratio - 1) <= timeTolerance
        let passed = memoryOK && timeOK && nonFiniteFrames.isEmpty && outOfBoundsFrames.isEmpty
        func ok(_ b: Bool) -> String { b ? "ok" : "FAIL" }
        let lostCount = lost.filter { $0 }.count
        let lines = [
            String(
                format:
                    "resident: %.1f MiB at frame 1, %.1f MiB at frame %d, %.1f MiB at the end (largest of the last %d: %.1f)",
                mib(residentKiB[0]), mib(residentKiB[b - 1]), b, mib(residentKiB[n - 1]), b,
                mib(residentKiB[(n - b)...].max()!)),
            String(
                format: "peak resident: %.1f MiB at frame %d, %.1f MiB at the end: growth %.2f MiB (limit %.1f) %@",
                mib(peakKiB[b - 1]), b, mib(peakKiB[n - 1]), peakGrowth, maxGrowthMiB, ok(memoryOK)),
            String(
                format:
                    "cpu time per frame (median): %.2f ms over frames %d-%d, %.2f ms over the last %d: ratio %.3f (tolerance %.2f) %@",
                reference, b, min(n, 2 * b) - 1, last, b, ratio, timeTolerance, ok(timeOK)),
            String(
                format:
                    "wall time per frame (median, tracker only): %.2f ms over frames %d-%d, %.2f ms over the last %d",
                wallReference, b, min(n, 2 * b) - 1, wallLast, b),
            "non-finite frames: \(nonFiniteFrames.count) \(ok(nonFiniteFrames.isEmpty)); state outside the image: "
                + "\(outOfBoundsFrames.count) \(ok(outOfBoundsFrames.isEmpty)); frames reported lost: \(lostCount)",
            passed ? "soak PASSED" : "soak FAILED",
        ]
        let figures: [String: Double] = [
            "resident_first_mib": mib(residentKiB[0]), "resident_baseline_mib": mib(residentKiB[b - 1]),
            "resident_end_mib": mib(residentKiB[n - 1]), "resident_growth_mib": currentGrowth,
            "peak_baseline_mib": mib(peakKiB[b - 1]), "peak_end_mib": mib(peakKiB[n - 1]),
            "peak_growth_mib": peakGrowth,
            "cpu_ms_reference": reference, "cpu_ms_last": last, "cpu_ratio": ratio,
            "wall_ms_reference": wallReference, "wall_ms_last": wallLast, "baseline_frame": Double(b),
            "lost_frames": Double(lostCount),
        ]
        return Verdict(passed: passed, lines: lines, figures: figures)
    }

    func json(verdict: Verdict, context: [String: String]) -> Data {
        var object: [String: Any] = context
        object["frames"] = residentKiB.count
        object["passed"] = verdict.passed
        object["summary"] = verdict.figures
        object["non_finite_frames"] = nonFiniteFrames
        object["out_of_bounds_frames"] = outOfBoundsFrames
        object["per_frame"] = [
            "resident_kib": residentKiB.map { Int($0) }, "peak_kib": peakKiB.map { Int($0) },
            "wall_ms": wallMs.map { Double($0) }, "cpu_ms": cpuMs.map { Double($0) },
            "score": scores.map { Double($0) }, "lost": lost,
            "width": sizes.map { Double($0.0) }, "height": sizes.map { Double($0.1) },
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}
