#!/bin/sh
# Debian packages the hardware lab (hwlab/run.py) needs: QEMU, Debian's own kernel (vivid,
# snd-aloop and 9p are modules there), a static busybox for the initramfs, and v4l2-ctl for the
# comparison tests run inside the guest. libportaudio2 lets sounddevice list the loopback card.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
    qemu-system-x86 linux-image-amd64 busybox-static v4l-utils libportaudio2 kmod
