import SiamMaskCLI
SiamMaskCommand.main()
