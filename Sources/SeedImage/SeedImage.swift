// SeedImage
