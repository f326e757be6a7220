"""The loaders' field checks and date parsers: exact millis for good values, a located fault for bad ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from profiling.loaders.fields import (
    EARLIEST_MS,
    FieldFault,
    check_millis,
    csv_float,
    csv_int,
    latest_ms,
    millis_of,
    opt_text,
    parse_iso_date,
    parse_iso_datetime,
    parse_month_name_date,
    parse_numeric_mdy,
    rating_value,
    req_str,
)


def ms(*parts: int) -> int:
    return millis_of(datetime(*parts, tzinfo=UTC))  # type: ignore[misc]


@pytest.mark.parametrize(("parse", "value", "expected"), [
    (parse_iso_datetime, "2018-07-07 22:09:11", ms(2018, 7, 7, 22, 9, 11)),
    (parse_iso_datetime, "2018-07-07T22:09:11", ms(2018, 7, 7, 22, 9, 11)),
    (parse_iso_date, "2020-02-29", ms(2020, 2, 29)),
    (parse_numeric_mdy, "09 13, 2009", ms(2009, 9, 13)),
    (parse_numeric_mdy, "5 6, 2015", ms(2015, 5, 6)),
    (parse_month_name_date, "October 21, 2020", ms(2020, 10, 21)),
    (parse_month_name_date, "Jan 15, 2020", ms(2020, 1, 15)),
    (parse_month_name_date, "Sep. 3, 2019", ms(2019, 9, 3)),
])
def test_dates_parse_to_utc_millis(parse: object, value: str, expected: int) -> None:
    assert parse(value, "f") == expected  # type: ignore[operator]


@pytest.mark.parametrize(("parse", "value", "kind"), [
    (parse_iso_datetime, "2018-07-07", "bad_date"),
    (parse_iso_datetime, "2018-07-07 25:00:00", "bad_date"),
    (parse_iso_date, "2019-02-29", "bad_date"),
    (parse_iso_date, "２０２０-01-01", "bad_date"),  # full-width digits are not a date here
    (parse_numeric_mdy, "13 1, 2009", "bad_date"),
    (parse_month_name_date, "Smarch 1, 2020", "bad_date"),
    (parse_iso_date, 20200101, "bad_type"),
])
def test_bad_dates_are_faults_of_their_field(parse: object, value: object, kind: str) -> None:
    with pytest.raises(FieldFault) as info:
        parse(value, "when")  # type: ignore[operator]
    assert (info.value.field, info.value.kind) == ("when", kind)


def test_plausible_time_window() -> None:
    latest = latest_ms()
    assert check_millis(EARLIEST_MS, "t", latest) == EARLIEST_MS
    for bad in (EARLIEST_MS - 1, latest + 1):
        with pytest.raises(FieldFault, match=r"before 1990|in the future"):
            check_millis(bad, "t", latest)


def test_record_field_checks() -> None:
    assert req_str({"a": "x"}, "a") == "x"
    assert rating_value({"r": 4}, "r") == 4.0
    assert opt_text({"t": " hi "}, "t") == " hi "
    # A review without text is a rating-only review, not a fault: absent, null and blank give "".
    assert opt_text({}, "t") == opt_text({"t": None}, "t") == opt_text({"t": "\n\t\u3000"}, "t") == ""
    cases = [(req_str, {"a": ""}, "missing_field"), (req_str, {"a": 3}, "bad_type"),
             (req_str, {}, "missing_field"),
             (rating_value, {"a": True}, "bad_type"), (rating_value, {"a": 5.5}, "out_of_range"),
             (opt_text, {"a": ["x"]}, "bad_type"), (opt_text, {"a": 0}, "bad_type")]
    for check, rec, kind in cases:
        with pytest.raises(FieldFault) as info:
            check(rec, "a")  # type: ignore[operator]
        assert (info.value.field, info.value.kind) == ("a", kind)


def test_csv_cells() -> None:
    assert csv_int("1603238400", "u") == csv_int("1603238400.0", "u") == 1603238400
    assert csv_float("4", "r", 1, 5) == 4.0
    for value, kind in (("", "missing_field"), ("x", "bad_type"), ("1.5", "bad_type")):
        with pytest.raises(FieldFault) as info:
            csv_int(value, "u")
        assert info.value.kind == kind
    for value, kind in (("nan", "out_of_range"), ("0", "out_of_range"), ("", "missing_field")):
        with pytest.raises(FieldFault) as info:
            csv_float(value, "r", 1, 5)
        assert info.value.kind == kind
