/// Why a calibration table could not be read or written (each description is one sentence).
public enum CalibrationTableError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformedJSON(String)
    case wrongFormat(found: String?)
    case unsupportedVersion(Int)
    case unknownMethod(String)
    case duplicateTensor(String)
    case invalidScale(tensor: String, scale: Double)
    case zeroPointOutOfRange(tensor: String, zeroPoint: Int)
    case rangeExcludesZero(tensor: String, lo: Float, hi: Float)
    case writeFailed(path: String, reason: String)
    case invalidWinogradEntry(node: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "Cannot read the calibration table \(path): \(reason)."
        case .malformedJSON(let detail):
            return "The calibration table is not valid JSON of the expected shape: \(detail)."
        case .wrongFormat(let found):
            return
                "Not a calibration table: \"format\" is \(found.map { "\"\($0)\"" } ?? "missing"), expected \"\(CalibrationTable.format)\"."
        case .unsupportedVersion(let v):
            return
                "Calibration table version \(v) is not supported (this build reads version \(CalibrationTable.version))."
        case .unknownMethod(let m):
            return "Unknown calibration method \"\(m)\" (expected minmax, percentile:P, entropy or mse)."
        case .duplicateTensor(let name):
            return "The tensor \"\(name)\" appears more than once in the calibration table."
        case .invalidScale(let name, let scale):
            return "The tensor \"\(name)\" has scale \(scale), but a scale must be a finite positive float32."
        case .zeroPointOutOfRange(let name, let z):
            return "The tensor \"\(name)\" has zero point \(z), outside the uint8 range [0, 255]."
        case .rangeExcludesZero(let name, let lo, let hi):
            return "The tensor \"\(name)\" has range [\(lo), \(hi)], which does not contain 0."
        case .writeFailed(let path, let reason):
            return "Cannot write the calibration table \(path): \(reason)."
        case .invalidWinogradEntry(let node):
            return
                "The Winograd entry of \"\(node)\" must be unique and hold 16 finite values >= 0 (\"abs_max\")."
        }
    }
}
