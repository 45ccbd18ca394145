"""stdout and stderr as callers really leave them: closed (`>&-`, `2>&-`), full (/dev/full),
a reader that leaves early (`| head -c 10`), a terminal that goes away. Every case runs ms as a
subprocess on real descriptors: `stdout=DEVNULL` is an open file, not a closed one."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import subprocess
import sys

import pytest

from conftest import Result, one_error_line

CAMERAS = 300  # with 200-character labels: listings larger than a 64 KiB pipe buffer


@pytest.fixture
def big_devices(tmp_path):
    modes = [{"width": 16 * w, "height": 16 * h, "frameRate": 30}
             for w in range(1, 60) for h in range(1, 30)]
    cameras = [{"kind": "videoinput", "label": f"{n:03} " + "L" * 196,
                "modes": modes if n == 0 else modes[:1]} for n in range(CAMERAS)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"devices": cameras}))
    return str(path)


# Every command that writes data, each with an output larger than a pipe buffer.
def data_commands(devices: str) -> dict[str, list[str]]:
    return {
        "devices": ["devices", "--devices", devices, "--json"],
        "caps": ["caps", "--devices", devices, "--json"],
        "caps --modes": ["caps", "index:0", "--modes", "--devices", devices, "--json"],
        "resolve": ["resolve", "--devices", devices, "-c", '{"video": true}', "--json"],
        "supported": ["supported", "--json"],
        "schema": ["schema", "constraints"],
        "--help": ["capture", "--help"],
        "--version": ["--version"],
    }


COMMANDS = list(data_commands(""))
SMALL = {"supported", "--help", "--version", "resolve"}  # shorter than any pipe buffer


def run_ms(ms_env, args, close=(), **kwargs) -> Result:
    """ms with the descriptors in `close` closed, as a shell's `>&-` leaves them."""
    pipes = {fd: subprocess.PIPE for fd in (1, 2) if fd not in close}
    proc = subprocess.run([sys.executable, "-m", "mscli", *args], env=ms_env,
                          stdin=subprocess.DEVNULL, stdout=pipes.get(1), stderr=pipes.get(2),
                          preexec_fn=lambda: [os.close(fd) for fd in close], timeout=60,
                          **kwargs)
    return Result(proc.returncode, (proc.stdout or b"").decode(),
                  (proc.stderr or b"").decode(), proc.stdout or b"")


# --- a closed stdout -----------------------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_closed_stdout_is_one_clear_line_and_exit_1(ms_env, big_devices, name):
    result = run_ms(ms_env, data_commands(big_devices)[name], close=(1,))
    assert result.code == 1, result.err
    assert one_error_line(result) == (
        "ms: AbortError: cannot write to stdout: it is closed (>&-); redirect it to a file, "
        "or to /dev/null to discard the data")


def test_closed_stdout_for_an_error_with_json_is_still_one_line(ms_env):
    result = run_ms(ms_env, ["resolve", "--fake", "-c", '{"video": {"width": {"min": 1e6}}}',
                             "--json"], close=(1,))
    assert result.code == 4
    assert one_error_line(result).startswith("ms: OverconstrainedError: ")


def test_full_stdout_is_a_write_error_naming_stdout(ms_env, big_devices):
    with open("/dev/full", "wb") as full:
        for name, args in data_commands(big_devices).items():
            proc = subprocess.run([sys.executable, "-m", "mscli", *args], env=ms_env,
                                  stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                                  timeout=60)
            result = Result(proc.returncode, "", proc.stderr.decode())
            assert result.code == 1, name
            assert one_error_line(result) == \
                "ms: AbortError: cannot write to stdout: No space left on device", name


# --- a closed stderr -----------------------------------------------------------------------


def test_closed_stderr_never_sends_messages_to_stdout(ms_env, tmp_path):
    error = run_ms(ms_env, ["capture", "--fake", "-c", '{"video": true}',
                            "-o", str(tmp_path / "missing" / "x.mkv")], close=(2,))
    assert (error.code, error.raw) == (2, b"")
    warned = run_ms(ms_env, ["resolve", "--fake", "-c", '{"video": {"widht": 1}}', "--json"],
                    close=(2,))
    assert warned.code == 0 and list(warned.json()) == ["tracks"]


def test_closed_stderr_keeps_the_json_error_on_stdout_alone(ms_env):
    result = run_ms(ms_env, ["resolve", "--fake", "-c", '{"video": {"width": {"min": 1e6}}}',
                             "--json"], close=(2,))
    assert result.code == 4
    assert result.json()["error"]["name"] == "OverconstrainedError"


def test_closed_stderr_is_not_reused_by_a_file_ms_opens(ms_env, tmp_path):
    """With fd 2 free, the output file would take it, and stderr's lines would go into it."""
    out = tmp_path / "x.y4m"
    result = run_ms(ms_env, ["capture", "--fake", "-c", '{"video": {"width": 64}}', "-v",
                             "--frames", "2", "--unpaced", "-o", str(out)], close=(2,))
    assert result.code == 0
    assert out.read_bytes().startswith(b"YUV4MPEG2 ")
    assert b"ms: " not in out.read_bytes()


# --- a reader that leaves early ------------------------------------------------------------


def read_a_little_then_close(ms_env, args, env_extra: dict) -> Result:
    """`ms … | head -c 10`: the reader takes 10 bytes and closes while ms is still writing."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # the smallest buffer a pipe can have
    proc = subprocess.Popen([sys.executable, "-m", "mscli", *args],
                            env=dict(ms_env, **env_extra), stdin=subprocess.DEVNULL,
                            stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    assert len(os.read(read_end, 10)) > 0
    os.close(read_end)
    err = proc.stderr.read().decode()
    return Result(proc.wait(timeout=60), "", err)


# PYTHONUNBUFFERED=1 (common in containers) is where sys.stdout.write lost a partial write.
@pytest.mark.parametrize("unbuffered", [{}, {"PYTHONUNBUFFERED": "1"}], ids=["", "unbuffered"])
@pytest.mark.parametrize("name", sorted(set(COMMANDS) - SMALL))
def test_reader_leaving_mid_output_is_141_for_every_command(ms_env, big_devices, name,
                                                           unbuffered):
    result = read_a_little_then_close(ms_env, data_commands(big_devices)[name], unbuffered)
    assert (result.code, result.err) == (141, "")


@pytest.mark.parametrize("name", COMMANDS)
def test_reader_gone_before_output_is_141_for_every_command(ms_env, big_devices, name):
    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.run([sys.executable, "-m", "mscli", *data_commands(big_devices)[name]],
                          env=ms_env, stdin=subprocess.DEVNULL, stdout=write_end,
                          stderr=subprocess.PIPE, timeout=60)
    os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, b"")


def test_table_to_a_terminal_that_goes_away_is_one_clear_line(ms_env, big_devices):
    """The rich tables (stdout a terminal) are written as checked as the JSON."""
    main_end, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mscli", "caps", "--modes",
                             "--devices", big_devices], env=ms_env, stdin=subprocess.DEVNULL,
                            stdout=terminal, stderr=subprocess.PIPE)
    os.close(terminal)
    assert len(os.read(main_end, 100)) > 0
    os.close(main_end)
    result = Result(proc.wait(timeout=60), "", proc.stderr.read().decode())
    assert result.code == 1
    assert one_error_line(result) == \
        "ms: AbortError: cannot write to stdout: Input/output error"
