"""The pure constraint engine, part 1: parsing, WebIDL types and the fitness distance.

Each test is named after the rule of /work/shared/notes/spec.md it pins down, and fails if
that rule is broken. Selection (SelectSettings) is in test_select.py.
"""

from __future__ import annotations

import math

import pytest

from mscli.constraints import (
    PROPERTIES,
    ULONG_MAX,
    Constraint,
    fitness_distance,
    member_distance,
    parse_stream_constraints,
    parse_track_constraints,
    satisfies,
)
from mscli.errors import ConstraintTypeError, MediaError

SUPPORTED = ("width", "height", "aspectRatio", "frameRate", "facingMode", "resizeMode",
             "sampleRate", "sampleSize", "echoCancellation", "autoGainControl",
             "noiseSuppression", "latency", "channelCount", "deviceId", "groupId")


def video(**members):
    """The parsed video track of {"video": members}."""
    return parse_stream_constraints({"video": members}).video


def audio(**members):
    return parse_stream_constraints({"audio": members}).audio


def type_error(value) -> str:
    """The message of the TypeError `value` must raise."""
    with pytest.raises(ConstraintTypeError) as info:
        parse_stream_constraints(value)
    assert info.value.name == "TypeError"
    assert info.value.exit_code == 2
    return info.value.message


# ---------------------------------------------------------------------------------------------
# Supported names


def test_supported_constraint_names_match_get_supported_constraints():
    assert set(SUPPORTED) <= set(PROPERTIES)


@pytest.mark.parametrize("name", SUPPORTED)
def test_each_supported_name_parses_without_warning(name):
    kind = PROPERTIES[name].kinds[0]
    value = {"ulong": 1, "double": 1.5, "boolean": True, "string": "user",
             "bool|str": True}[PROPERTIES[name].type]
    parsed = parse_stream_constraints({kind: {name: value}})
    assert parsed.warnings == []
    assert name in getattr(parsed, kind).basic


# ---------------------------------------------------------------------------------------------
# Constraint types: every accepted form


def test_constrain_ulong_accepts_integer_and_range_object():
    assert video(width=640).basic["width"] == Constraint("width", ideal=640)
    c = video(width={"min": 320, "max": 1280, "exact": 640, "ideal": 800}).basic["width"]
    assert (c.min, c.max, c.exact, c.ideal) == (320, 1280, 640, 800)


def test_constrain_double_accepts_number_and_range_object():
    assert video(frameRate=29.97).basic["frameRate"].ideal == 29.97
    c = video(aspectRatio={"min": 1.0, "max": 2, "exact": 1.5, "ideal": 1.7}).basic["aspectRatio"]
    assert (c.min, c.max, c.exact, c.ideal) == (1.0, 2.0, 1.5, 1.7)
    assert isinstance(c.max, float)


def test_constrain_boolean_accepts_boolean_and_exact_ideal_object():
    assert audio(autoGainControl=False).basic["autoGainControl"].ideal is False
    c = audio(noiseSuppression={"exact": True, "ideal": False}).basic["noiseSuppression"]
    assert (c.exact, c.ideal) == (True, False)


def test_constrain_domstring_accepts_string_list_and_object_of_either():
    assert video(facingMode="user").basic["facingMode"].ideal == ("user",)
    assert video(facingMode=["user", "left"]).basic["facingMode"].ideal == ("user", "left")
    c = video(facingMode={"exact": ["environment", "right"], "ideal": "right"}).basic["facingMode"]
    assert (c.exact, c.ideal) == (("environment", "right"), ("right",))


def test_constrain_boolean_or_domstring_accepts_boolean_all_remote_only_and_object():
    assert audio(echoCancellation=True).basic["echoCancellation"].ideal == (True,)
    assert audio(echoCancellation="all").basic["echoCancellation"].ideal == ("all",)
    assert audio(echoCancellation="remote-only").basic["echoCancellation"].ideal == (
        "remote-only",)
    c = audio(echoCancellation={"exact": False, "ideal": "all"}).basic["echoCancellation"]
    assert (c.exact, c.ideal) == ((False,), ("all",))


def test_track_true_means_no_constraints_and_false_means_no_track():
    parsed = parse_stream_constraints({"audio": False, "video": True})
    assert parsed.audio is None
    assert parsed.video.basic == {} and parsed.video.advanced == []
    assert [k for k, _ in parsed.tracks()] == ["video"]


def test_tracks_come_back_audio_first_as_get_user_media_returns_them():
    parsed = parse_stream_constraints({"video": True, "audio": True})
    assert [k for k, _ in parsed.tracks()] == ["audio", "video"]


def test_get_constraints_raw_is_what_the_user_wrote():
    raw = {"width": {"min": 1}, "advanced": [{"height": 2}]}
    assert parse_stream_constraints({"video": raw}).video.raw == raw


# ---------------------------------------------------------------------------------------------
# Type errors, with the JSON path in the message


@pytest.mark.parametrize("value, path", [
    ({"video": {"width": "x"}}, "video.width"),
    ({"video": {"width": {"min": "x"}}}, "video.width.min"),
    ({"video": {"width": {"ideal": True}}}, "video.width.ideal"),
    ({"video": {"width": {"exact": None}}}, "video.width.exact"),
    ({"video": {"width": [640]}}, "video.width"),
    ({"video": {"height": None}}, "video.height"),
    ({"video": {"frameRate": "30"}}, "video.frameRate"),
    ({"video": {"aspectRatio": {"max": [1]}}}, "video.aspectRatio.max"),
    ({"video": {"facingMode": 3}}, "video.facingMode"),
    ({"video": {"facingMode": ["user", 3]}}, "video.facingMode[1]"),
    ({"video": {"facingMode": {"exact": ["user", None]}}}, "video.facingMode.exact[1]"),
    ({"video": {"resizeMode": {"ideal": {"x": 1}}}}, "video.resizeMode.ideal"),
])
def test_wrong_type_is_a_type_error_naming_the_json_path(value, path):
    message = type_error(value)
    assert message.startswith(path + ":"), message


@pytest.mark.parametrize("value, path", [
    ({"audio": {"autoGainControl": "yes"}}, "audio.autoGainControl"),
    ({"audio": {"noiseSuppression": 1}}, "audio.noiseSuppression"),
    ({"audio": {"noiseSuppression": {"exact": "true"}}}, "audio.noiseSuppression.exact"),
    ({"audio": {"echoCancellation": 1}}, "audio.echoCancellation"),
    ({"audio": {"echoCancellation": [True, 0]}}, "audio.echoCancellation[1]"),
    ({"audio": {"sampleRate": "48000"}}, "audio.sampleRate"),
    ({"audio": {"latency": {"ideal": "low"}}}, "audio.latency.ideal"),
    ({"audio": {"deviceId": {"exact": 12}}}, "audio.deviceId.exact"),
    ({"audio": {"groupId": [None]}}, "audio.groupId[0]"),
])
def test_wrong_type_in_audio_is_a_type_error_naming_the_json_path(value, path):
    message = type_error(value)
    assert message.startswith(path + ":"), message


@pytest.mark.parametrize("value, path", [
    ({"video": {"advanced": {"width": 1}}}, "video.advanced"),
    ({"video": {"advanced": [{"width": 1}, 5]}}, "video.advanced[1]"),
    ({"video": {"advanced": [{}, {"width": "x"}]}}, "video.advanced[1].width"),
    ({"video": {"advanced": [{"facingMode": {"exact": [1]}}]}},
     "video.advanced[0].facingMode.exact[0]"),
])
def test_type_errors_inside_advanced_sets_name_the_index(value, path):
    assert type_error(value).startswith(path + ":")


def test_unknown_member_of_a_range_object_is_ignored_with_a_warning_naming_it():
    # WebIDL ignores unknown dictionary members, as it ignores unknown constraint names. It
    # was a TypeError whose message said "ignored" (issue 10, finding 17).
    parsed = parse_stream_constraints({"video": {"width": {"mni": 5, "max": 9, "foo": 1}}})
    assert parsed.video.basic["width"] == Constraint("width", max=9)
    first, second = parsed.warnings
    assert first.startswith("video.width.mni: unknown name 'mni' ignored")
    assert "'min'" in first  # did-you-mean hint
    assert second.startswith("video.width.foo: unknown name 'foo' ignored")


def test_min_max_are_not_members_of_a_string_constraint_object():
    parsed = parse_stream_constraints({"video": {"facingMode": {"min": "user"}}})
    assert "facingMode" not in parsed.video.basic
    assert parsed.warnings[0].startswith("video.facingMode.min: unknown name 'min' ignored")


def test_a_range_object_of_unknown_members_only_is_no_constraint():
    parsed = parse_stream_constraints({"video": {"advanced": [{"width": {"foo": 1}}]}})
    assert parsed.video.advanced == [{}]


def test_many_unknown_names_give_a_few_warnings_and_a_count():
    # 20,000 unknown keys printed 20,000 warning lines (issue 10, finding 16).
    keys = {f"k{i}": 1 for i in range(20_000)}
    warnings = parse_stream_constraints({"video": keys}).warnings
    assert warnings[:5] == [f"video.k{i}: unknown name 'k{i}' ignored" for i in range(5)]
    assert warnings[5:] == ["… and 19,995 more warnings like these"]


def test_unknown_names_are_shown_escaped_and_cut():
    name = "\x1b[31mred\nline" + "x" * 1000
    first, = parse_stream_constraints({"video": {name: 1}}).warnings
    assert "\x1b" not in first and "\n" not in first
    assert first.startswith(r"video.\x1b[31mred\nlinexxx")
    assert len(first) < 200


def test_a_misspelt_track_kind_is_named_in_the_error_with_a_hint():
    # `{"vidoe": true}` said only "no track requested": the warning naming the typo is
    # never printed when parsing fails.
    message = type_error({"vidoe": True})
    assert message.endswith("'vidoe' is neither (did you mean 'video'?)")
    assert type_error({"peerIdentity": "x"}).endswith("'peerIdentity' is neither")


def test_track_member_of_wrong_type_is_a_type_error():
    assert type_error({"video": 1}).startswith("video:")
    assert type_error({"audio": "yes"}).startswith("audio:")
    assert type_error({"video": None}).startswith("video:")


@pytest.mark.parametrize("value", [[], "video", 1, None, True])
def test_constraints_that_are_not_an_object_are_a_type_error(value):
    type_error(value)


@pytest.mark.parametrize("value", [{}, {"audio": False, "video": False}, {"screen": True},
                                   {"video": False}])
def test_no_kind_requested_is_a_type_error(value):
    assert "no track requested" in type_error(value)


def test_non_finite_double_is_a_type_error():
    # JSON cannot say NaN or Infinity, but Python callers can; WebIDL `double` refuses them.
    for bad in (math.nan, math.inf, -math.inf):
        assert type_error({"video": {"frameRate": {"max": bad}}}).startswith(
            "video.frameRate.max:")


def test_double_too_large_for_a_float_is_a_type_error_not_a_crash():
    # A JSON integer literal with hundreds of digits is Infinity as a JavaScript number, which
    # `double` refuses. It used to escape as an OverflowError.
    huge = 10 ** 400
    assert type_error({"video": {"frameRate": huge}}).startswith("video.frameRate:")
    assert type_error({"audio": {"latency": {"ideal": -huge}}}).startswith(
        "audio.latency.ideal:")


def test_type_errors_apply_to_constraints_of_the_other_kind_too():
    # The dictionary is the same for both kinds: WebIDL converts before any kind is known.
    assert type_error({"audio": {"width": "x"}}).startswith("audio.width:")
    assert type_error({"video": {"sampleRate": {"exact": "8k"}}}).startswith(
        "video.sampleRate.exact:")


def test_type_errors_are_media_errors():
    with pytest.raises(MediaError):
        parse_stream_constraints({"video": {"width": "x"}})


def test_parse_track_constraints_for_apply_constraints_names_path():
    with pytest.raises(ConstraintTypeError) as info:
        parse_track_constraints({"width": "x"}, "video")
    assert info.value.message.startswith("video.width:")
    with pytest.raises(ConstraintTypeError):
        parse_track_constraints([], "video")
    track = parse_track_constraints({"width": 5, "bogus": 1}, "video")
    assert track.basic["width"].ideal == 5 and "bogus" not in track.basic


# ---------------------------------------------------------------------------------------------
# WebIDL [Clamp] unsigned long


@pytest.mark.parametrize("given, clamped", [
    (-5, 0), (-0.5, 0), (0, 0), (640.4, 640), (640.5, 640), (641.5, 642), (2**32 - 1, ULONG_MAX),
    (2**32, ULONG_MAX), (1e20, ULONG_MAX), (10**400, ULONG_MAX)])
def test_negative_ulong_clamps_to_zero_and_large_to_ulong_max(given, clamped):
    c = video(width={"min": given, "ideal": given}).basic["width"]
    assert c.min == clamped and c.ideal == clamped


def test_ulong_clamp_applies_to_bare_values_and_audio():
    assert video(height=-1).basic["height"].ideal == 0
    assert audio(channelCount={"exact": -3}).basic["channelCount"].exact == 0


def test_doubles_are_not_clamped():
    assert video(frameRate={"min": -5}).basic["frameRate"].min == -5.0
    assert audio(latency=-0.5).basic["latency"].ideal == -0.5


# ---------------------------------------------------------------------------------------------
# Empty lists are no constraint


def test_empty_list_is_no_constraint_in_basic_set():
    assert video(facingMode=[]).basic == {}
    assert video(deviceId={"exact": []}).basic == {}
    assert audio(echoCancellation={"ideal": []}).basic == {}


def test_empty_list_exact_keeps_the_ideal():
    c = video(facingMode={"exact": [], "ideal": "user"}).basic["facingMode"]
    assert c.exact is None and c.ideal == ("user",) and not c.required


def test_empty_list_is_no_constraint_in_advanced_set():
    track = video(advanced=[{"facingMode": [], "groupId": {"exact": []}}])
    assert track.advanced == [{}]


# ---------------------------------------------------------------------------------------------
# Unknown names: warned and dropped, never a failure


def test_unknown_name_is_dropped_with_a_warning_naming_path_and_hint():
    parsed = parse_stream_constraints({"video": {"widht": 640, "height": 480}})
    assert "widht" not in parsed.video.basic and "height" in parsed.video.basic
    assert len(parsed.warnings) == 1
    assert parsed.warnings[0].startswith("video.widht:") and "'width'" in parsed.warnings[0]


def test_unknown_name_with_any_value_is_not_a_type_error():
    parsed = parse_stream_constraints({"video": {"pointsOfInterest": {"exact": "x",
                                                                      "bogus": [None]}}})
    assert parsed.video.basic == {}
    assert parsed.warnings


def test_unknown_name_inside_advanced_is_dropped_with_a_warning():
    parsed = parse_stream_constraints({"video": {"advanced": [{"backgroundBlur": True,
                                                                "width": 9}]}})
    assert parsed.video.advanced == [{"width": Constraint("width", exact=9)}]
    assert parsed.warnings[0].startswith("video.advanced[0].backgroundBlur:")


def test_unknown_top_level_member_is_dropped_with_a_warning():
    parsed = parse_stream_constraints({"video": True, "peerIdentity": "x"})
    assert parsed.video is not None and parsed.audio is None
    assert parsed.warnings[0].startswith("peerIdentity:")


def test_nested_advanced_is_ignored_with_a_warning():
    parsed = parse_stream_constraints(
        {"video": {"advanced": [{"width": 1, "advanced": [{"height": 2}]}]}})
    assert parsed.video.advanced == [{"width": Constraint("width", exact=1)}]
    assert any("advanced[0].advanced" in w for w in parsed.warnings)


# ---------------------------------------------------------------------------------------------
# Constraints of the other kind: ignored even with exact


def test_other_kind_constraint_is_warned_and_distance_zero_even_with_exact():
    parsed = parse_stream_constraints({"video": {"sampleRate": {"exact": 8000}}})
    assert any(w.startswith("video.sampleRate:") for w in parsed.warnings)
    basic = parsed.video.basic
    # Whatever is kept must not count for a video track: distance 0 with no sampleRate setting.
    assert fitness_distance(basic, {"width": 640}, "video") == 0.0


def test_other_kind_constraint_does_not_apply_to_audio_either():
    basic = audio(width={"exact": 99999}, facingMode={"exact": "left"}).basic
    assert fitness_distance(basic, {"sampleRate": 48000}, "audio") == 0.0


# ---------------------------------------------------------------------------------------------
# min > max: not a TypeError


def test_min_greater_than_max_parses_without_type_error():
    c = video(width={"min": 800, "max": 600}).basic["width"]
    assert c.required
    # Nothing satisfies it: an OverconstrainedError later, not a TypeError now.
    assert not any(satisfies(c, w) for w in (599, 600, 700, 800, 801))


def test_exact_outside_min_max_is_unsatisfiable_not_type_error():
    c = video(frameRate={"min": 10, "max": 20, "exact": 30}).basic["frameRate"]
    assert not any(satisfies(c, f) for f in (10, 20, 30))


# ---------------------------------------------------------------------------------------------
# Required vs ideal


@pytest.mark.parametrize("member", [{"min": 1}, {"max": 1}, {"exact": 1}])
def test_min_max_exact_are_required(member):
    assert video(width=member).basic["width"].required


def test_ideal_is_not_required():
    assert not video(width={"ideal": 1}).basic["width"].required
    assert not video(facingMode={"ideal": "user"}).basic["facingMode"].required
    assert not audio(autoGainControl={"ideal": True}).basic["autoGainControl"].required


def test_string_and_boolean_exact_are_required():
    assert video(facingMode={"exact": "user"}).basic["facingMode"].required
    assert audio(autoGainControl={"exact": False}).basic["autoGainControl"].required


@pytest.mark.parametrize("name, value", [("width", 640), ("frameRate", 30.0),
                                         ("facingMode", "user"), ("deviceId", ["a", "b"])])
def test_bare_value_is_ideal_in_basic_set(name, value):
    c = video(**{name: value}).basic[name]
    assert not c.required and c.exact is None and c.ideal is not None


@pytest.mark.parametrize("name, value", [("width", 640), ("frameRate", 30.0),
                                         ("facingMode", "user"), ("deviceId", ["a", "b"])])
def test_bare_value_is_exact_in_advanced_set(name, value):
    c = video(advanced=[{name: value}]).advanced[0][name]
    assert c.required and c.ideal is None and c.exact is not None


def test_bare_boolean_is_ideal_in_basic_and_exact_in_advanced():
    track = audio(noiseSuppression=True, advanced=[{"noiseSuppression": False}])
    assert track.basic["noiseSuppression"] == Constraint("noiseSuppression", ideal=True)
    assert track.advanced[0]["noiseSuppression"] == Constraint("noiseSuppression", exact=False)


def test_ideal_member_in_advanced_set_stays_ideal():
    c = video(advanced=[{"width": {"ideal": 640}}]).advanced[0]["width"]
    assert not c.required


def test_ideal_never_makes_distance_infinite():
    basic = video(width={"ideal": 10**6}, facingMode={"ideal": "left"}).basic
    assert math.isfinite(fitness_distance(basic, {"width": 1, "facingMode": "user"}, "video"))
    assert math.isfinite(fitness_distance(basic, {}, "video"))


# ---------------------------------------------------------------------------------------------
# Fitness distance, step by step


def test_fitness_step1_unsupported_name_contributes_zero():
    with_unknown = video(width=640, hue=3, pointsOfInterest={"exact": 1}).basic
    assert set(with_unknown) == {"width"}
    settings = {"width": 320}
    assert fitness_distance(with_unknown, settings, "video") == pytest.approx(0.5)


def test_fitness_step2_unmet_required_is_infinite():
    c = Constraint("width", min=640)
    assert member_distance(c, 320, "video") == math.inf
    assert member_distance(c, 640, "video") == 0.0


def test_fitness_step2_required_on_missing_setting_is_infinite():
    assert member_distance(Constraint("facingMode", exact=("user",)), None, "video") == math.inf
    assert member_distance(Constraint("sampleRate", min=1), None, "audio") == math.inf


def test_fitness_step2_infinity_is_not_hidden_by_ideal():
    c = Constraint("width", max=100, ideal=640)
    assert member_distance(c, 640, "video") == math.inf


def test_fitness_step2_string_exact_list_means_any_of():
    c = Constraint("facingMode", exact=("user", "left"))
    assert member_distance(c, "left", "video") == 0.0
    assert member_distance(c, "environment", "video") == math.inf


def test_fitness_step2_boolean_exact():
    c = Constraint("autoGainControl", exact=False)
    assert member_distance(c, False, "audio") == 0.0
    assert member_distance(c, True, "audio") == math.inf


def test_fitness_step3_other_kind_is_zero_even_when_required_and_missing():
    assert member_distance(Constraint("sampleRate", exact=8000), None, "video") == 0.0
    assert member_distance(Constraint("width", min=10**6), None, "audio") == 0.0
    assert member_distance(Constraint("facingMode", exact=("left",)), None, "audio") == 0.0


def test_fitness_step4_boolean_for_non_boolean_property_asks_existence():
    present = video(facingMode=True).basic["facingMode"]
    absent = video(facingMode=False).basic["facingMode"]
    assert member_distance(present, "user", "video") == 0.0
    assert member_distance(present, None, "video") == 1.0
    assert member_distance(absent, "user", "video") == 1.0
    assert member_distance(absent, None, "video") == 0.0


def test_fitness_step4_in_advanced_is_required():
    c = video(advanced=[{"facingMode": True}]).advanced[0]["facingMode"]
    assert c.required
    assert member_distance(c, None, "video") == math.inf
    assert member_distance(c, "user", "video") == 0.0
    numeric = video(advanced=[{"width": False}]).advanced[0]["width"]
    assert member_distance(numeric, 640, "video") == math.inf
    assert member_distance(numeric, None, "video") == 0.0


def test_fitness_step5_missing_setting_with_ideal_is_one():
    assert member_distance(Constraint("facingMode", ideal=("user",)), None, "video") == 1.0
    assert member_distance(Constraint("latency", ideal=0.01), None, "audio") == 1.0


def test_fitness_step6_no_ideal_is_zero():
    assert member_distance(Constraint("width", min=100, max=2000), 1500, "video") == 0.0
    assert member_distance(Constraint("facingMode", exact=("user",)), "user", "video") == 0.0


@pytest.mark.parametrize("actual, ideal, expected", [
    (640, 640, 0.0), (320, 640, 0.5), (1280, 640, 0.5), (30, 60, 0.5), (60, 30, 0.5),
    (0, 640, 1.0), (640, 0, 1.0), (30, -10, 40 / 30), (-2, 2, 2.0), (1.5, 1.2, 0.3 / 1.5)])
def test_fitness_step7_numeric_relative_distance(actual, ideal, expected):
    name = "frameRate" if isinstance(ideal, float) or ideal < 0 else "width"
    assert member_distance(Constraint(name, ideal=ideal), actual, "video") == pytest.approx(
        expected)


def test_fitness_step7_applies_to_double_and_audio_numbers():
    assert member_distance(Constraint("aspectRatio", ideal=16 / 9), 4 / 3, "video") == \
        pytest.approx((16 / 9 - 4 / 3) / (16 / 9))
    assert member_distance(Constraint("sampleRate", ideal=48000), 16000, "audio") == \
        pytest.approx(2 / 3)


def test_fitness_step8_string_is_zero_or_one():
    c = Constraint("facingMode", ideal=("user",))
    assert member_distance(c, "user", "video") == 0.0
    assert member_distance(c, "environment", "video") == 1.0


def test_fitness_step8_list_ideal_matches_any_element():
    c = Constraint("facingMode", ideal=("left", "right"))
    assert member_distance(c, "right", "video") == 0.0
    assert member_distance(c, "left", "video") == 0.0
    assert member_distance(c, "user", "video") == 1.0


def test_fitness_step8_boolean_is_zero_or_one():
    c = Constraint("noiseSuppression", ideal=True)
    assert member_distance(c, True, "audio") == 0.0
    assert member_distance(c, False, "audio") == 1.0


def test_fitness_step8_echo_cancellation_all_means_true():
    assert member_distance(Constraint("echoCancellation", ideal=("all",)), True, "audio") == 0.0
    assert member_distance(Constraint("echoCancellation", ideal=("all",)), False, "audio") == 1.0
    assert member_distance(Constraint("echoCancellation", ideal=(True,)), False, "audio") == 1.0
    assert member_distance(Constraint("echoCancellation", ideal=(False,)), False, "audio") == 0.0
    assert member_distance(Constraint("echoCancellation", exact=("remote-only",)), True,
                           "audio") == math.inf


def test_fitness_step8_does_not_confuse_types():
    # "true" the string is not true the boolean, and 1 is not "1".
    assert member_distance(Constraint("echoCancellation", ideal=("true",)), True, "audio") == 1.0


def test_fitness_distance_is_the_sum_over_members():
    basic = video(width=640, height=480, facingMode="user", resizeMode="none").basic
    settings = {"width": 320, "height": 240, "facingMode": "environment",
                "resizeMode": "crop-and-scale"}
    assert fitness_distance(basic, settings, "video") == pytest.approx(0.5 + 0.5 + 1 + 1)


def test_required_numeric_tolerates_floating_point_noise_only():
    c = Constraint("aspectRatio", exact=4 / 3)
    assert satisfies(c, 640 / 480)
    assert satisfies(c, 4 / 3 + 1e-9)
    assert not satisfies(c, 1.3333)
    assert not satisfies(Constraint("width", exact=640), 641)
