"""A virtual camera's controls on the pattern's pixels (media/adjust.py), measured from the
frames: brightness moves the mean luma, contrast the spread of luma, saturation the spread
of chroma, zoom magnifies the scene and pan/tilt move the window it shows."""

from __future__ import annotations

import numpy as np
import pytest

from mscli.controls import NumericControl
from mscli.media import adjust
from mscli.media.frames import i420_planes
from mscli.media.pattern import PatternGenerator, is_flash, read_frame_number

W, H = 640, 360
BYTE = NumericControl(0, 255, 1, 128)  # vivid's brightness, contrast and saturation
CONTROLS = {"brightness": BYTE, "contrast": BYTE, "saturation": BYTE,
            "zoom": NumericControl(100, 400, 10, 100),
            "pan": NumericControl(-180, 180, 1, 0), "tilt": NumericControl(-90, 90, 1, 0)}
# Columns left of the burned-in digits and code (which start past 35 % of the width, and are
# drawn over the adjusted scene): the scene alone.
SCENE = slice(0, W * 3 // 10)


def planes(values: dict | None = None, index: int = 1, controls=CONTROLS):
    gen = PatternGenerator(W, H, 30, controls=controls)
    if values is not None:
        gen.set_controls(values)
    data = gen.frame(index)
    y = data[:W * H].reshape(H, W)
    u = data[W * H:W * H + W * H // 4].reshape(H // 2, W // 2)
    v = data[W * H + W * H // 4:].reshape(H // 2, W // 2)
    return y, u, v


def test_the_defaults_and_no_controls_leave_the_pattern_as_it_was():
    plain = PatternGenerator(W, H, 30).frame(7)
    defaults = {name: c.value for name, c in CONTROLS.items()}
    gen = PatternGenerator(W, H, 30, controls=CONTROLS)
    gen.set_controls(defaults)
    assert np.array_equal(gen.frame(7), plain)
    assert adjust.plan(W, H, CONTROLS, defaults) == adjust.Plan(None, None, None)


def test_brightness_moves_luma_by_its_share_of_the_range():
    work = adjust.plan(W, H, CONTROLS, {"brightness": 128 + 51})  # a fifth of the range up
    assert work.luma[100] == 100 + round(219 * 51 / 255)
    assert work.luma[230] == 235  # clipped to white
    base = planes()[0][:, SCENE].mean()
    up = planes({"brightness": 200})[0][:, SCENE].mean()
    down = planes({"brightness": 50})[0][:, SCENE].mean()
    assert down + 40 < base < up - 40


def test_contrast_is_a_gain_of_luma_around_mid_grey():
    spread = {v: planes({"contrast": v})[0][:, SCENE].std() for v in (0, 64, 128, 255)}
    assert spread[0] < 1  # the minimum flattens the picture to grey
    assert spread[64] < spread[128] < spread[255]
    assert abs(planes({"contrast": 0})[0][:, SCENE].mean() - adjust.MID_GREY) < 1
    work = adjust.plan(W, H, CONTROLS, {"contrast": 255})
    assert work.luma[adjust.MID_GREY] == adjust.MID_GREY and work.luma[100] < 100


def test_saturation_scales_chroma_around_neutral():
    def chroma_spread(values):
        _, u, v = planes(values)
        return np.abs(np.concatenate([u[:, :W // 2 * 3 // 10], v[:, :W // 2 * 3 // 10]])
                      .astype(int) - 128).mean()

    assert chroma_spread({"saturation": 0}) == 0  # grey
    assert chroma_spread({}) < chroma_spread({"saturation": 200})
    # and saturation leaves luma alone
    assert np.array_equal(planes({"saturation": 0})[0], planes()[0])


def bar_edges(row: np.ndarray) -> np.ndarray:
    """Where the colour bars of a row change (the row of bars is the top third's)."""
    return np.flatnonzero(np.abs(np.diff(row.astype(int))) > 8) + 1


def test_zoom_magnifies_the_scene_by_value_over_min():
    plain = np.diff(bar_edges(planes()[0][0]))
    zoomed = np.diff(bar_edges(planes({"zoom": 200})[0][0]))
    bar = W // 8
    assert set(plain[1:-1]) <= {bar - 1, bar, bar + 1}
    assert all(abs(d - 2 * bar) <= 2 for d in zoomed[1:-1]) and len(zoomed) >= 2


@pytest.mark.parametrize("pan, start", [(-180, 0), (0, W // 4), (180, W // 2)])
def test_pan_moves_the_window_across_the_range(pan, start):
    """Zoomed 2x, pan at min shows the left half of the scene, at max the right half."""
    row = planes()[0][0].astype(int)
    shown = planes({"zoom": 200, "pan": pan})[0][0].astype(int)
    expected = np.repeat(row[start:start + W // 2], 2)
    assert np.mean(np.abs(shown - expected) <= 4) > 0.97


def ramp_starts(y: np.ndarray) -> int:
    """The first row (left of the overlay) that is not the bars of row 0."""
    different = np.abs(y[:, SCENE].astype(int) - y[0, SCENE]).max(axis=1) > 8
    return int(np.argmax(different)) if different.any() else len(y)


@pytest.mark.parametrize("tilt, boundary", [(90, H), (0, 2 * (2 * H // 3 - H // 4)),
                                            (-90, 2 * (2 * H // 3 - H // 2))])
def test_tilt_moves_the_window_up_and_down(tilt, boundary):
    """The bars fill the top two thirds of the scene: zoomed 2x, tilting up (max) shows bars
    only, down (min) brings the ramp below them up the picture."""
    assert ramp_starts(planes()[0]) == 2 * H // 3
    assert abs(ramp_starts(planes({"zoom": 200, "tilt": tilt})[0]) - boundary) <= 2


def test_pan_and_tilt_need_a_zoom_to_show():
    assert np.array_equal(planes({"pan": 180, "tilt": -90})[0], planes()[0])


def test_a_range_from_zero_zooms_from_one_to_four():
    zoom = NumericControl(0, 10, 1, 0)
    assert adjust.magnification(zoom, 0) == 1 and adjust.magnification(zoom, 10) == 4
    assert adjust.crop_window(W, H, {"zoom": zoom}, {"zoom": 10}) == \
        adjust.Window(3 * W // 8, 3 * H // 8 & ~1, W // 4, H // 4)  # even: chroma lines up


def test_an_empty_range_does_nothing():
    flat = NumericControl(5, 5, 1, 5)
    controls = {name: flat for name in adjust.PICTURE}
    assert adjust.plan(W, H, controls, dict.fromkeys(adjust.PICTURE, 5)) == \
        adjust.Plan(None, None, None)


def test_frame_numbers_and_flashes_survive_any_setting():
    extreme = {"brightness": 0, "contrast": 0, "saturation": 0, "zoom": 400, "pan": 180}
    gen = PatternGenerator(W, H, 30, controls=CONTROLS)
    gen.set_controls(extreme)
    for index in (1, 29, 31):
        assert read_frame_number(gen.frame(index)[:W * H].reshape(H, W)) == index
    assert is_flash(gen.frame(30)[:W * H].reshape(H, W))


@pytest.mark.parametrize("values", [{"brightness": 200, "contrast": 64, "saturation": 0},
                                    {"zoom": 200, "pan": -180, "tilt": 30}])
def test_a_whole_frame_adjusted_matches_the_pattern_made_with_the_controls(values):
    """adjust_frame (a file camera's frames) does what the pattern does to its scene; they
    differ only where the pattern draws its numbers over the adjusted scene."""
    plain = PatternGenerator(W, H, 30).frame(3)
    made = PatternGenerator(W, H, 30, controls=CONTROLS)
    made.set_controls(values)
    adjusted = adjust.adjust_frame(adjust.plan(W, H, CONTROLS, values), plain, W, H)
    assert adjusted is not plain
    y, u, v = (p[:, :p.shape[1] * 3 // 10] for p in i420_planes(adjusted, W, H))
    my, mu, mv = (p[:, :p.shape[1] * 3 // 10] for p in i420_planes(made.frame(3), W, H))
    assert np.array_equal(y, my) and np.array_equal(u, mu) and np.array_equal(v, mv)


def test_a_whole_frame_at_the_defaults_is_left_alone():
    plain = PatternGenerator(W, H, 30).frame(3)
    assert adjust.adjust_frame(adjust.plan(W, H, CONTROLS, {"brightness": 128}), plain, W, H) \
        is plain
