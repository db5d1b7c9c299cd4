"""Quirk profiles: loading, validation errors, name/model matching, unit conversions."""

from __future__ import annotations

from pathlib import Path

import pytest

from treadctl.ble.quirks import (
    ProfileSet,
    QuirkProfile,
    RequestControl,
    SpeedUnit,
    load_profile_file,
    load_profiles,
    profile_from_mapping,
)
from treadctl.errors import ConfigError


@pytest.fixture(scope="module")
def shipped() -> ProfileSet:
    return load_profiles()


def test_shipped_profiles_load_and_include_the_default(shipped: ProfileSet) -> None:
    """Every shipped profile file is valid, and the spec-conformant default is among them."""
    assert {"default", "kingsmith", "citysports", "fitshow-mph", "technogym-myrun"} <= set(
        shipped.names()
    )
    assert {"bh-fitness", "matrix", "mobvoi", "sperax", "walking-pads"} <= set(shipped.names())
    assert shipped.default == QuirkProfile(
        name="default",
        description=shipped.default.description,
        source=shipped.default.source,
    )


def test_default_file_documents_every_key_with_its_default(shipped: ProfileSet) -> None:
    """default.toml spells out every key, each with the value the code uses when it is absent."""
    text = Path(shipped.default.source).read_text(encoding="utf-8")
    for key in QuirkProfile.__dataclass_fields__:
        if key not in {"name", "source"}:
            assert f"\n{key} = " in text, key


@pytest.mark.parametrize(
    ("ble_name", "profile"),
    [
        ("KS-HD-Z1D", "kingsmith"),
        ("ks-mc21", "kingsmith"),
        ("ZP-ZEALR1 1234", "kingsmith"),
        ("CITYSPORTS-Linker", "citysports"),
        ("SPERAX_RM-01", "sperax"),
        ("SPERAX_RM01", None),  # proprietary protocol, Q23
        ("SPERAX_RM-02", None),  # proprietary protocol, Q23
        ("THERUN  T15", "walking-pads"),  # double space, Q23
        ("THERUN T15", None),
        ("URTM051", "walking-pads"),
        ("MOBVOI TMP", "mobvoi"),
        ("Matrix T50", "matrix"),
        ("BH i.Concept", "bh-fitness"),
        ("Technogym MyRun", "technogym-myrun"),
        ("Some Bike", None),
        ("", None),
        (None, None),
    ],
)
def test_profiles_match_advertised_names(
    shipped: ProfileSet, ble_name: str | None, profile: str | None
) -> None:
    """Names pick their profile case-insensitively; exclusions and unknown names pick none."""
    found = shipped.match_name(ble_name)
    assert (found.name if found else None) == profile


def test_model_number_selects_a_profile_when_the_name_does_not(shipped: ProfileSet) -> None:
    """The FITSHOW mph profile is chosen by the Device Information model number (Q4)."""
    assert shipped.select("FS-A1B2C3", "FS-BT-T4").name == "fitshow-mph"
    assert shipped.select("KS-MC21", "FS-BT-T4").name == "kingsmith"
    assert shipped.select("Unknown", None).name == "default"


def test_most_specific_pattern_wins() -> None:
    """When several profiles match, the one with the longest literal pattern is chosen."""
    broad = QuirkProfile(name="broad", name_patterns=("KS-*",))
    narrow = QuirkProfile(name="narrow", name_patterns=("KS-HD-Z1D*",))
    profiles = ProfileSet({"broad": broad, "narrow": narrow})
    assert profiles.select("KS-HD-Z1D 42").name == "narrow"
    assert profiles.select("KS-MC21").name == "broad"


def test_user_directory_overrides_a_shipped_profile_by_name(tmp_path: Path) -> None:
    """A user file named like a shipped one replaces it; new files add profiles."""
    (tmp_path / "kingsmith.toml").write_text('name_patterns = ["KS-*"]\n', encoding="utf-8")
    (tmp_path / "mine.toml").write_text(
        'name_patterns = ["MYPAD*"]\ntarget_speed_units = "mph"\n', encoding="utf-8"
    )
    profiles = load_profiles(tmp_path)
    assert profiles.get("kingsmith").cccd_write_gap_ms == 0
    assert profiles.get("kingsmith").source == str(tmp_path / "kingsmith.toml")
    assert profiles.select("MyPad 3").target_speed_units is SpeedUnit.MPH


def test_missing_user_directory_is_not_an_error(tmp_path: Path) -> None:
    """A profile directory that does not exist just means no overrides."""
    assert load_profiles(tmp_path / "absent").names() == load_profiles().names()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus = 1\n", "bogus: unknown key"),
        ('request_control = "sometimes"\n', "request_control: must be one of once, before_each"),
        ('target_speed_units = "knots"\n', "target_speed_units: must be one of kmh, mph"),
        ("incline_scale = 0\n", "incline_scale: must be > 0"),
        ("stale_after_s = -1.0\n", "stale_after_s: must be >= 0"),
        ('stale_after_s = "10"\n', "stale_after_s: must be a number"),
        ("cccd_write_gap_ms = 100.5\n", "cccd_write_gap_ms: must be a whole number"),
        ("vendor_step_count = 1\n", "vendor_step_count: must be true or false"),
        ('name_patterns = "KS-*"\n', "name_patterns: must be a list of non-empty strings"),
        ("name_patterns = [1]\n", "name_patterns: must be a list of non-empty strings"),
        ("name_patterns = [\n", "not valid TOML"),
    ],
)
def test_invalid_profile_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    """A bad profile is refused with the file, the key and what is allowed."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_profile_file(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def test_unknown_profile_name_lists_the_known_ones(shipped: ProfileSet) -> None:
    """Asking for a profile that does not exist names the ones that do."""
    with pytest.raises(ConfigError, match=r"no quirk profile 'nope' .*kingsmith"):
        shipped.get("nope")


def test_target_incline_scale_defaults_to_incline_scale() -> None:
    """A profile that sets only incline_scale uses it for targets too."""
    profile = profile_from_mapping("x", {"incline_scale": 20.0})
    assert profile.target_incline_scale == 20.0
    assert profile.request_control is RequestControl.ONCE


def test_mph_conversions_use_the_statute_mile() -> None:
    """mph fields convert with 1.609344 km per mile in both directions (Q4)."""
    mph = QuirkProfile(
        target_speed_units=SpeedUnit.MPH,
        reported_speed_units=SpeedUnit.MPH,
        speed_range_units=SpeedUnit.MPH,
    )
    assert mph.target_speed_to_wire(1.609344) == pytest.approx(1.0)
    assert mph.reported_speed_kmh(3.8) == pytest.approx(6.1155072)
    assert mph.range_speed_kmh(0.6) == pytest.approx(0.9656064)
    kmh = QuirkProfile()
    assert kmh.target_speed_to_wire(4.0) == 4.0
    assert kmh.reported_speed_kmh(4.0) == 4.0


def test_bh_incline_scale_reads_raw_over_62_5(shipped: ProfileSet) -> None:
    """BH reports raw 180 (18.0 % by the spec) for 2.88 %, but takes standard targets (Q3)."""
    bh = shipped.get("bh-fitness")
    assert bh.reported_incline_pct(18.0) == pytest.approx(2.88)
    assert bh.target_incline_to_wire(5.0) == pytest.approx(5.0)
