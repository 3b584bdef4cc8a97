"""dirnet: accurate binary neural networks (DIR-Net) with bit-packed CPU inference."""
__version__ = "0.1.0"
