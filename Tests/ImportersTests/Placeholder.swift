import XCTest
final class ImportersTestsPlaceholder: XCTestCase { func testBuilds() {} }
