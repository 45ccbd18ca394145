#!/bin/sh
# Runs inside the lab guest as root, chrooted into the host's root filesystem (read-only over
# 9p; /tmp, /run and /dev/shm are the guest's own tmpfs). hwlab/run.py's init has exported
# MS_HWLAB_* (see guest_env there) and copied the deviceId secret to /tmp/lab/id-secret.
# Prints HWLAB-DEVICES-BEGIN/END around `ms devices --json`; its exit status is the result:
# the hwlab tests' (mode "tests") or the benchmark script's (mode "bench").
PY="$MS_HWLAB_PYTHON"
export HOME=/tmp/home MS_STATE_DIR=/tmp/ms-state
export PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$MS_HWLAB_REPO"
mkdir -p "$HOME" "$MS_STATE_DIR"
cp /tmp/lab/id-secret "$MS_STATE_DIR/id-secret"

modprobe vivid n_devs=1 || echo "hwlab: modprobe vivid failed"
modprobe snd-aloop || echo "hwlab: modprobe snd-aloop failed"
# No udev here: devtmpfs makes the nodes; wait until the camera's is there.
i=0
while [ ! -e /dev/video0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

cd "$MS_HWLAB_REPO" || exit 1
rc=0
if [ "$MS_HWLAB_MODE" = tests ]; then
    echo "hwlab: $(uname -r), $("$PY" --version), running the hwlab tests"
    # The repo is read-only here: no cache provider, no bytecode.
    eval "set -- $MS_HWLAB_ARGS"
    "$PY" -m pytest -m hwlab tests/hwlab -q -ra -p no:cacheprovider --color=no "$@"
    rc=$?
elif [ "$MS_HWLAB_MODE" = bench ]; then
    echo "hwlab: $(uname -r), $("$PY" --version), running $MS_HWLAB_BENCH"
    eval "set -- $MS_HWLAB_ARGS"
    "$PY" "$MS_HWLAB_BENCH" "$@"
    rc=$?
fi
echo HWLAB-DEVICES-BEGIN
"$PY" -m mscli devices --json
echo HWLAB-DEVICES-END
exit $rc
