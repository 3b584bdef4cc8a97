"""Binary layers and the modules they are made of."""
from dirnet.nn.binary_layers import BinaryConv2d, BinaryLinear
from dirnet.nn.quantizers import ActivationQuantizer, WeightQuantizer
from dirnet.nn.react import RPReLU, RSign

BINARY_LAYERS = (BinaryConv2d, BinaryLinear)

__all__ = ["BinaryConv2d", "BinaryLinear", "ActivationQuantizer", "WeightQuantizer", "RPReLU",
           "RSign", "BINARY_LAYERS"]
