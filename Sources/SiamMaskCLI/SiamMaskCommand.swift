import ArgumentParser
import Foundation
import ModelFormat
import SiamMask
import SiamMaskLayout

public struct SiamMaskCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "siammask",
        abstract: "Convert, calibrate, quantise, track with and validate SiamMask models on the CPU.",
        subcommands: [
            ConvertCommand.self, CalibrateCommand.self, QuantizeCommand.self, TrackCommand.self, DriftCommand.self,
            InspectCommand.self, RunCommand.self, SynthCommand.self, BenchCommand.self, EvalCommand.self,
            SoakCommand.self,
        ])
    public init() {}
}

/// An error shown to the user as one line, with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Reads a `.siam` file, checks it against the architecture and builds the network's weights (the library's
/// front door: `SiamMaskNetwork(contentsOf:)`).
func loadNetwork(_ path: String) throws -> SiamMaskNetwork {
    try reporting("cannot load \(path)") { try SiamMaskNetwork(contentsOf: URL(fileURLWithPath: path)) }
}

/// Runs `body`, turning any error into a one-line `CommandFailure` that names what failed.
func reporting<T>(_ context: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as CommandFailure { throw e } catch let e as ValidationError { throw e } catch
    {
        throw CommandFailure("\(context): \(error)")
    }
}
