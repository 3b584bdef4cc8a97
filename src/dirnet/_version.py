"""The package version (one place: the CLI, the .dbnn header and dirnet.__version__ read it)."""
__version__ = "0.1.0"
