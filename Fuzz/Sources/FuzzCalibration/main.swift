import Foundation
import FuzzDriver
import Quantization

// The calibration table (JSON): parsing, validation, lookups, and re-encoding of an accepted table.
func fuzzCalibration(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    guard let table = try? CalibrationTable.decode(bytes) else { return 0 }
    guard (try? table.validate()) != nil else { return 0 }
    for t in table.tensors { _ = table.quantization(for: t.name) }
    _ = try? table.encoded()
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzCalibration(data!, size) })
