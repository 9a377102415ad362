"""The checker machinery every chapter's exercises share: any answer gets a message."""

import math

import pytest

from vit_notes import checking


@pytest.mark.parametrize(
    "answer,value",
    [
        (12, 12),
        (12.0, 12),
        ("12", 12),
        ("1e3", 1000),
        (12.5, None),
        ("twelve", None),
        (None, None),
        (math.nan, None),
        (math.inf, None),
        ([12], None),
        (10**30, 10**30),
    ],
)
def test_as_int_accepts_whole_numbers_only(answer, value):
    assert checking.as_int(answer) == value


def test_verdict_wraps_long_messages_for_the_page(capsys, monkeypatch):
    monkeypatch.setattr(checking, "LINE_WIDTH", 80)
    assert checking.verdict(False, "word " * 60) is False
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 1 and all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("❌ not yet: ") and lines[1].startswith("   word")


def test_parse_count_tells_the_student_what_to_give(capsys):
    assert checking.parse_count("many", "tokens") is None
    assert "give a whole number of tokens, got 'many'" in capsys.readouterr().out
