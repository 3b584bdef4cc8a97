# Sourced by the gpu_*.sh scripts: environment, machine facts, CIFAR-10 from
# $data, CUDA MPS when it starts (then jobs=8, else jobs=5), and the helpers
# of gpu_lib.sh. Needs $data, $out and $budget (see gpu_lib.sh).
source "$(dirname "${BASH_SOURCE[0]}")/gpu_lib.sh"  # training_budget, launch, wait_launched, pack
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
mkdir -p "$out"
exec > >(tee -a "$out/gpu_${GPU_LOG:-run}.log") 2>&1

nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
lscpu | grep -m1 'Model name'

if [ ! -d data/cifar10/cifar-10-batches-py ]; then
    rm -rf data/cifar10.tmp
    python3 "$data/cifar10_unpack.py" data/cifar10.tmp || exit 1
    mkdir -p data/cifar10 && mv data/cifar10.tmp/cifar-10-batches-py data/cifar10/
fi

jobs=5
export CUDA_MPS_PIPE_DIRECTORY=/tmp/dirnet-mps CUDA_MPS_LOG_DIRECTORY=/tmp/dirnet-mps-log
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
if command -v nvidia-cuda-mps-control >/dev/null && nvidia-cuda-mps-control -d &&
   timeout 60 python3 -c "import torch; assert float(torch.ones(10, device='cuda').sum()) == 10"; then
    echo "MPS: on"
    jobs=8
else
    echo "MPS: off"
    echo quit | nvidia-cuda-mps-control 2>/dev/null
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
fi


