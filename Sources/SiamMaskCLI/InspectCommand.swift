import ArgumentParser
import Foundation
import ModelFormat

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show a .siam file's metadata and tensor table.")

    @Argument(help: "The .siam file.")
    var file: String

    func run() throws {
        let summary = try reporting("cannot read \(file)") { try SiamFileReader.summary(contentsOf: URL(fileURLWithPath: file)) }
        print(summary.description)
    }
}
