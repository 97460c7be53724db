import SiamMaskCLI
Allocator.configure()
SiamMaskCommand.main()
