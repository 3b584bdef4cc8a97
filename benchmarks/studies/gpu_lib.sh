# Helpers of the gpu_*.sh scripts, sourced by gpu_setup.sh (and by the tests,
# which need no GPU). Needs $out and $budget: the whole script's wall-clock
# seconds. training_budget says how many of them are left for training,
# keeping PACK_S for packing the results (a device call's timeout must not cut
# the packing: give the call a timeout_s of at least the budget + 10).
call_start=${call_start:-$(date +%s)}
PACK_S=${PACK_S:-45}
training_budget() {
    local left=$(( budget - ($(date +%s) - call_start) - PACK_S ))
    [ "$left" -gt 60 ] && echo "$left" || echo 60
}

# Training processes: `launch CMD...` starts one in the background under what
# is left of the training budget; `wait_launched` waits for them by PID (a
# bare `wait` would also wait for the tee that gpu_setup.sh opens for the
# log, which never ends) and
# then for any `dirnet train` still writing its SIGTERM checkpoint (WAIT_PATTERN:
# the pgrep pattern of those processes; the tests set one that matches nothing, so
# unrelated training on the same machine does not hold them up).
pids=()
launch() {
    timeout -s TERM "$(training_budget)" "$@" &
    pids+=($!)
}
wait_launched() {
    [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
    for _ in $(seq 30); do pgrep -f "${WAIT_PATTERN:-dirnet train}" >/dev/null || break; sleep 1; done
}

# `pack NAME RUN_DIR...`: what a run needs to be read or resumed, as $out/NAME.
pack() {
    local name=$1 paths=() d f
    shift
    for d in "$@"; do
        for f in config.yaml metrics.jsonl summary.json commands.txt checkpoints/last.pt; do
            [ -f "$d/$f" ] && paths+=("$d/$f")
        done
    done
    [ ${#paths[@]} -gt 0 ] && tar czf "$out/$name" "${paths[@]}"
}
