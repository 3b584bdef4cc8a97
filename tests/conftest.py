import pytest
import torch

# Test tensors are tiny: one thread avoids barrier waits, and leaves a core for subprocesses.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
