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


# --- numbers in any form ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer,value",
    [
        ("3,136", 3136),
        ("3.1e3", 3100),
        ("58.6M", 58_600_000),
        ("5/2", 2.5),
        (3136.0, 3136),
        ("", None),
        ("1/0", None),
        ("inf", None),
        ("1e400", None),
        (True, None),
    ],
)
def test_as_number_reads_what_students_type(answer, value):
    assert checking.as_number(answer) == value


def test_as_number_reads_tensors_and_numpy_values():
    import numpy as np
    import torch

    assert checking.as_number(torch.tensor(49)) == 49
    assert checking.as_number(np.int64(49)) == 49
    assert checking.as_number(np.float64(2.5)) == 2.5
    assert checking.as_number(np.array([7])) == 7
    assert checking.as_number(torch.ones(3)) is None
    assert checking.as_number(np.float64("nan")) is None


# --- near misses and counts ------------------------------------------------------------------


def test_near_miss_says_its_side_and_band_not_how_far():
    text = checking.near_miss(3100, 3136, "tokens")
    assert "close: 3,100 is too low, within 10% of the answer" in text
    assert "rounded to 2 significant figures" in text
    assert "36" not in text and "1.15%" not in text  # the difference would give the answer


@pytest.mark.parametrize(
    "value,says",
    [
        (1005, "too high, within 1% of the answer"),
        (990, "too low, within 1% of the answer"),
        (1100, "too high, within 10% of the answer"),
        (950, "too low, within 10% of the answer"),
        (1101, "too high, more than 10% off but less than 2×"),
        (501, "too low, more than 10% off but less than 2×"),
        (2000, "too high, 2× to 10× off"),
        (500, "too low, 2× to 10× off"),
        (10_000, "too high, 2× to 10× off"),
        (100, "too low, 2× to 10× off"),
        (10_001, "too high, more than 10× off"),
        (99, "too low, more than 10× off"),
        (0, "too low, more than 10× off"),
        (-5, "too low, and of the wrong sign"),
        (10**400, "too high, more than 10× off"),
    ],
)
def test_band_names_a_side_and_one_of_the_bands(value, says):
    assert checking.band(value, 1000) == says
    assert says.split(", ", 1)[1] in checking.BANDS or "sign" in says


def test_near_miss_of_a_fraction_says_a_count_is_whole():
    assert "a count of tokens is a whole number" in checking.near_miss(48.7, 49, "tokens")


def test_far_answers_are_not_near_misses():
    assert checking.near_miss(60, 49, "tokens") is None
    assert checking.near_miss(10**400, 49, "tokens") is None


def test_check_count_names_a_known_mistake_before_calling_it_close(capsys):
    assert not checking.check_count(99, 100, "x", "ok", mistakes=[(99, "off by one: count 0")])
    assert "off by one: count 0" in capsys.readouterr().out


def test_check_count_step_accepts_the_rounding_asked_for_and_records_it(capsys):
    kw = dict(step=100)
    assert checking.check_count(1000, 1020, "x", "ok", **kw)  # 1020 to the nearest 100
    assert checking.check_count("1.0k", 1020, "x", "ok", **kw)  # the same, a float
    assert checking.check_count(1050, 1050, "x", "ok", **kw)  # exact
    assert checking.check_count(1100, 1050, "x", "ok", **kw)  # a half rounds up
    assert not checking.check_count(1040, 1020, "x", "ok", **kw)  # 20 off, not a rounding
    assert not checking.check_count(1000, 1050, "x", "ok", **kw)  # rounded down
    assert not checking.check_count(1000, 1020, "x", "ok")  # the default: exact only
    out = capsys.readouterr().out
    assert out.count("give it exactly, or rounded to the nearest 100") == 2
    spec = checking.page_spec(checking.check_count, right=1020, unit="x", correct="ok", **kw)
    assert spec["step"] == "100"


def test_check_count_step_accepts_a_finer_rounding_of_the_count(capsys):
    # review r36 E1: 254,804,000 is the count rounded more finely than asked, and is right
    roundings = [254_800_000, 254_804_000, 254_803_970, 254_803_968]  # to 100,000 ... 1
    assert checking.step_roundings(254_803_968, 100_000) == roundings
    assert checking.step_roundings(1020, 25) == [1025]  # no finer step than one not of 10s
    kw = dict(step=100_000)
    for answer in (254_800_000, 254_804_000, "254.804M", 254_803_970, 254_803_968):
        assert checking.check_count(answer, 254_803_968, "x", "ok", **kw), answer
    for answer in (254_810_000, 254_850_000, 254_804_100, 254_803_900):  # no rounding of it
        assert not checking.check_count(answer, 254_803_968, "x", "ok", **kw), answer
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("give it exactly, or rounded to the nearest 100,000 or finer") == 4


def test_check_count_step_tells_a_coarser_rounding_how_to_round(capsys):
    assert not checking.check_count(1_000_000, 1_023_456, "x", "ok", step=10_000)
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "rounded to 2 significant figures: give it exactly, or rounded to the nearest 10,000" in out
    )
    assert not checking.check_count(1_000_000, 1_023_456, "x", "ok")  # no step: exactly
    out = " ".join(capsys.readouterr().out.split())
    assert out.endswith("significant figures: give it exactly")


TERMS = {"a": 10, "b": 7, "c": 7, "d": 1000}


def test_missing_term_named():
    assert checking.missing_terms(1024 - 10, 1024, TERMS) == "1,014 leaves out a"  # not its size


def test_two_equal_missing_terms_are_both_named_and_the_ambiguity_said():
    text = checking.missing_terms(1024 - 7, 1024, TERMS)
    assert "2 terms have the size it lacks: b; c" in text
    assert "cannot tell which one" in text and "= 7" not in text and "is 7" not in text


def test_two_missing_terms_named_as_a_pair():
    assert "leaves out two terms: a and d" in checking.missing_terms(1024 - 1010, 1024, TERMS)


def test_one_term_and_a_pair_of_the_same_size_are_all_named():
    terms = {"a": 10, "b": 4, "c": 6, "d": 1000}  # a alone, or b and c together, are 10
    text = checking.missing_terms(1020 - 10, 1020, terms)
    assert "either a, or b and c" in text and "cannot tell which" in text


def test_diagnose_sum_falls_back_to_mistakes_then_fallback(capsys):
    assert not checking.diagnose_sum(2048, 1024, TERMS, [(2048, "twice")], "no idea")
    assert not checking.diagnose_sum(5, 1024, TERMS, [(2048, "twice")], "no idea")
    out = capsys.readouterr().out
    assert "twice" in out and "no idea" in out


@pytest.mark.parametrize(
    "answer,says",
    [
        (-3, "is positive"),
        (10**400, "a 401-digit number is too high, more than 10× off"),
        (250, "250 is too high, 2× to 10× off; look again"),  # not "2.5×": that gives 100
        (12.25, "a number of things is whole"),
        (1e100, "1e+100 is too high, more than 10× off"),  # whole, far too large: not "not whole"
    ],
)
def test_check_count_far_answers(capsys, answer, says):
    assert not checking.check_count(answer, 100, "things", "ok", hint="look again")
    assert says in capsys.readouterr().out


# --- predictions and judgements ----------------------------------------------------------------


def test_prediction_within_tolerance_is_right_and_says_what_to_do_next(capsys):
    assert checking.check_prediction(15.8, 16, "the factor", "Move the slider.", correct="16×")
    assert capsys.readouterr().out.startswith("✅ correct: 16×. Move the slider.")


def test_prediction_names_a_mistake_and_a_near_miss(capsys):
    assert not checking.check_prediction(4, 16, "f", "Slide.", mistakes=[(4, "R, not R²")])
    assert "R, not R². Slide." in capsys.readouterr().out
    assert not checking.check_prediction(14, 16, "f", "Slide.")
    assert "14 is too low, more than 10% off but less than 2×. Slide." in capsys.readouterr().out
    assert not checking.check_prediction(15, 16, "f", "Slide.")
    assert "close: 15 is too low, within 10% of the answer. Slide." in capsys.readouterr().out


@pytest.mark.parametrize("answer", ["27x", "27×", " 27 x ", "27X", "27 ×", "27.0x"])
def test_a_factor_typed_with_a_times_sign_reads_as_its_number(capsys, answer):
    # review coatnet r28 E1: the pages write a factor "27×"; a student who copies it is right
    assert checking.check_prediction(answer, 27.3, "the factor", "Slide.")
    assert capsys.readouterr().out.startswith("✅ correct: 27.3. Slide.")
    assert not checking.check_prediction(answer, 9, "the factor", "Slide.", mistakes=[(27, "N")])
    assert "N. Slide." in capsys.readouterr().out


@pytest.mark.parametrize("answer", ["x", "×", " x ", "max", "27xx", "27x3", "two×"])
def test_a_times_sign_without_a_number_before_it_is_not_a_factor(capsys, answer):
    assert not checking.check_prediction(answer, 27.3, "the factor", "Slide.")
    assert "❌ not yet: write your prediction of the factor as a number" in capsys.readouterr().out


def test_a_prediction_with_then_wrong_keeps_the_answer_from_a_wrong_one(capsys):
    kw = dict(mistakes=[(4, "R, not R²")], then_wrong="Try again.")
    assert not checking.check_prediction(4, 16, "f", "It is 16.", **kw)
    assert not checking.check_prediction(14, 16, "f", "It is 16.", **kw)
    assert not checking.check_prediction(20, 16, "f", "It is 16.", **kw)
    out = " ".join(capsys.readouterr().out.split())
    assert "R, not R². Try again." in out and "14 is too small. Try again." in out
    assert "20 is too large. Try again." in out and "16" not in out
    assert checking.check_prediction(16, 16, "f", "It is 16.", **kw)
    assert "It is 16." in capsys.readouterr().out


def test_an_exact_prediction_takes_only_the_answer_rounded(capsys):
    why = "the exact value is 29/9"
    for right in (29 / 9, "29/9", 3.2, 3.22, 3.222222, 3.2222222):
        assert checking.check_prediction(right, 29 / 9, "r", "Slide.", inexact=why)
    assert not checking.check_prediction(3.25, 29 / 9, "r", "Slide.", inexact=why)
    out = capsys.readouterr().out
    assert "close: 3.25 is too high, within 1% of the answer; the exact" in out
    assert checking.check_prediction(3.25, 29 / 9, "r", "Slide.")  # without: a figure's reading


def test_an_exact_prediction_takes_its_digits_rounded_or_cut_off(capsys):
    why = "the exact value is 196/9"
    # 196/9 = 21.7777...: rounded (22, 21.78) or cut off (21.7, 21.777) at the last digit typed
    for answer in (22, 21.8, 21.78, 21.7, 21.777, "21.777", 21.7778, 21.77777):
        assert checking.check_prediction(answer, 196 / 9, "f", "Slide.", inexact=why), answer
    capsys.readouterr()
    # more than one unit of the last digit typed away: wrong, and never "0.00%" off
    for answer in (21.5, 21.76, 21.7771, 21.6, 21.79):
        assert not checking.check_prediction(answer, 196 / 9, "f", "Slide.", inexact=why), answer
        out = capsys.readouterr().out
        assert "0.00%" not in out and why in out
    assert checking.within_digits(21.777, 196 / 9) and not checking.within_digits(21.76, 196 / 9)
    assert not checking.within_digits(15.9, 16)  # one unit off exactly: not a cut-off 16
    assert checking.last_digit(22) == 1.0 and checking.last_digit(1e-5) == 1e-5


def test_a_rounded_answer_kept_in_float32_gets_the_typed_answers_verdict(capsys):
    import numpy as np
    import torch

    # the student slip: the answer computed in a tensor, rounded, and passed as it is
    why = "the exact value is 196/9"
    for answer in (np.float32(21.78), torch.tensor(21.78), torch.tensor([21.78]), np.float16(22)):
        assert checking.check_prediction(answer, 196 / 9, "f", "Slide.", inexact=why), answer
    assert checking.as_number(np.float32(21.78)) == 21.78
    assert checking.as_number(torch.tensor(3.22, dtype=torch.float16)) == 3.22
    # a wrong float32 answer is still wrong, and the message says it is close
    assert not checking.check_prediction(np.float32(21.76), 196 / 9, "f", "Slide.", inexact=why)
    assert "close: 21.76 is too low, within 1% of the answer" in capsys.readouterr().out


def test_a_count_summed_in_a_float32_tensor_is_read_exactly(capsys):
    import numpy as np
    import torch

    from vit_notes import pvt, shunted

    # the student slip: the solution's terms summed in a tensor. 9·(N_k1+N_k2)·C/2 is a
    # float, so the tensor is float32. Its value, 80,121,664, is exact in float32, but its
    # shortest decimal, 8.012166e+07, is 80,121,660: that reading called it rounded.
    N, C, r = 28 * 28, 128, 4
    Nk1, Nk2 = (28 // r) ** 2, (28 // (r // 2)) ** 2
    terms = torch.tensor(
        [
            2 * N * C**2,
            Nk1 * C**2 * r**2 + Nk2 * C**2 * (r // 2) ** 2,
            (Nk1 + Nk2) * C**2,
            9 * (Nk1 + Nk2) * C / 2,
            N * (Nk1 + Nk2) * C,
        ]
    )
    total = terms.sum()
    assert total.dtype == torch.float32 and float(str(np.float32(total.item()))) == 80121660
    for answer in (total, np.float32(80121664), torch.tensor([80121664.0])):
        assert shunted.check_shunted_macs(answer, H=28, W=28, dim=128, num_heads=4, sr_ratio=4)
        assert "✅ correct: 80,121,664" in capsys.readouterr().out
    # PVT's SRA at 56², C = 64, R = 8: 58,605,568, whose shortest float32 decimal is 58,605,570
    N, Nk, C, R = 56 * 56, 7 * 7, 64, 8
    terms = torch.tensor([2 * N * C**2, Nk * C**2 * R**2, 2 * Nk * C**2, 2 * N * Nk * C])
    total = terms.float().sum()
    assert total.item() == 58605568 and float(str(np.float32(total.item()))) == 58605570
    assert pvt.check_sra_macs(total, H=56, W=56, dim=64, num_heads=1, sr_ratio=8)
    assert "✅ correct: 58,605,568" in capsys.readouterr().out
    assert checking.as_number(total) == 58605568
    # a fraction typed in float32 still reads as the reader typed it
    assert checking.as_number(np.float32(0.1)) == 0.1
    # a wrong whole count in float32 is still wrong
    assert not pvt.check_sra_macs(total - 64, H=56, W=56, dim=64, num_heads=1, sr_ratio=8)


def test_how_far_gives_the_band_never_the_difference():
    assert checking.how_far(21.7771, 196 / 9) == "21.7771 is too low, within 1% of the answer"
    assert checking.how_far(21.5, 196 / 9) == "21.5 is too low, within 10% of the answer"


def test_prediction_of_nothing_asks_for_a_number(capsys):
    assert not checking.check_prediction(None, 16, "the factor", "Slide.")
    assert "write your prediction of the factor as a number, got None" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [[8], {"a": 1}, None, float("nan"), "eight"])
def test_choice_lists_the_options_for_anything_else(capsys, answer):
    assert not checking.check_choice(answer, {4: "no", 8: "yes"}, 8, "the ratio")
    assert "the ratio: choose one of 4, 8" in capsys.readouterr().out


def test_option_named_matches_loosely_but_not_ambiguously():
    names = ["PVT SRA, R=8", "PVT B2-Li linear SRA"]
    assert checking.option_named("pvt sra, r=8", names) == "PVT SRA, R=8"
    assert checking.option_named("linear", names) == "PVT B2-Li linear SRA"
    assert checking.option_named("SRA", names) is None
    assert checking.option_named(8, names) is None


# --- a step of a forward pass ------------------------------------------------------------------


def _want():
    import torch

    torch.manual_seed(0)
    return torch.randn(2, 3, 5, 4)


STEP = checking.Step("B heads N d", "the queries")


def test_step_right_and_only_size_one_dims_differ():
    want = _want()
    assert checking.compare_step(want.clone(), want, STEP, {}) is None
    assert checking.compare_step(want[:1, :1].squeeze(1), want[:1, :1], STEP, {}) is None


def test_step_not_computed_or_not_a_tensor():
    want = _want()
    assert "not computed yet (None); expected (B, heads, N, d) = (2, 3, 5, 4)" in (
        checking.compare_step(None, want, STEP, {})
    )
    assert "give a tensor, got [1, 2]" in checking.compare_step([1, 2], want, STEP, {})


def test_step_numpy_arrays_are_compared_too():
    want = _want()
    assert checking.compare_step(want.numpy(), want, STEP, {}) is None


def test_step_wrong_shape_names_the_dims_that_differ():
    want = _want()
    text = checking.compare_step(want[:, :, :2], want, STEP, {})
    assert (
        "shape (2, 3, 2, 4), expected (B, heads, N, d) = (2, 3, 5, 4) (N: 5 expected, got 2)"
        in text
    )


def test_step_transposed_heads_and_tokens_is_a_layout_with_its_fix():
    want = _want()
    text = checking.compare_step(want.transpose(1, 2), want, STEP, {})
    assert "wrong layout: your dims are (B, N, heads, d)" in text
    assert ".permute(0, 2, 1, 3) fixes it" in text


def test_step_merged_heads_is_a_layout_with_permute_and_reshape():
    want = _want()
    merged = want.transpose(1, 2).reshape(2, 5, 12)  # (B, N, C) where (B, heads, N, d) is due
    text = checking.compare_step(merged, want, STEP, {})
    assert (
        "shape (2, 5, 12)" in text and ".reshape(2, 5, 3, 4).permute(0, 2, 1, 3) fixes it" in text
    )


def test_step_values_in_another_order():
    want = _want()
    shuffled = want.flatten()[torch_perm(want.numel())].reshape(want.shape)
    text = checking.compare_step(shuffled, want, STEP, {})
    assert text == f"the right values in the wrong order: {checking.WRONG_ORDER}"


def test_step_with_its_own_order_hint_says_it_instead():
    # review r27 E1: a gathered bias has no channels to split into heads
    want = _want()
    shuffled = want.flatten()[torch_perm(want.numel())].reshape(want.shape)
    step = checking.Step(STEP.dims, STEP.what, order="check the index you gather with")
    text = checking.compare_step(shuffled, want, step, {})
    assert text == "the right values in the wrong order: check the index you gather with"


def torch_perm(n):
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(1))


def test_step_wrong_values_says_how_far_and_where():
    want = _want()
    got = want.clone()
    got[1, 2, 3, 0] += 0.5
    text = checking.compare_step(got, want, STEP, {})
    assert "1 of 120 entries differ, by up to 0.5 (at B=1, heads=2, N=3, d=0" in text


def test_step_axes_name_each_position_where_two_dims_share_a_label():
    """A mask's query and key are both M²: named axes tell them apart."""
    import torch

    step = checking.Step("nW M² M²", "the mask", axes=("window", "query", "key"))
    want = torch.zeros(2, 4, 4)
    got = want.clone()
    got[1, 0, 2] = -10.0
    text = checking.compare_step(got, want, step, {})
    assert "(at window 1, query 0, key 2: -10, expected 0)" in text
    with pytest.raises(ValueError, match="one name per dimension"):
        checking.Step("nW M² M²", "the mask", axes=("window", "query"))


def test_step_nan_entries_are_counted():
    want = _want()
    got = want.clone()
    got[0, 0, 0, :2] = float("nan")
    assert "2 of 120 entries are NaN or infinite" in checking.compare_step(got, want, STEP, {})


def test_step_equal_to_a_known_mistake_is_named():
    want = _want()
    text = checking.compare_step(want * 2, want, STEP, {"you doubled it": want * 2})
    assert text == "you doubled it"


def test_step_with_a_mistake_of_another_shape_says_whose_shape_it_has():
    want = _want()
    wrong = {"you kept every token": want.repeat(1, 1, 2, 1)}
    text = checking.compare_step(want.repeat(1, 1, 2, 1) + 1, want, STEP, wrong)
    assert "That is the shape you get when you kept every token" in text


def test_softmax_rows_check_tells_rows_from_columns():
    import torch

    logits = torch.randn(1, 1, 4, 4)
    assert checking.softmax_rows(logits.softmax(-1)) is None
    assert "columns sum to 1" in checking.softmax_rows(logits.softmax(-2))
    assert "rows do not sum to 1" in checking.softmax_rows(logits)


# --- one description for the page (tests/browser/test_answers.py compares the two) ---------


def test_page_spec_records_what_a_count_checker_checks_against(capsys):
    from vit_notes import pvt

    spec = checking.page_spec(pvt.check_sra_macs, H=56, W=56, dim=64, sr_ratio=8)
    assert spec["kind"] == "count" and spec["right"] == "58605568"
    assert ["q (N·C²)", "12845056"] in spec["terms"] and capsys.readouterr().out == ""
    assert pvt.check_sra_macs(58_605_568)  # recording is over: the checker checks again


def test_page_spec_leaves_checkers_with_logic_of_their_own_to_the_kernel(capsys):
    from vit_notes import pvt, shunted

    assert checking.page_spec(shunted.check_shunted_kv_tokens) is None
    assert checking.page_spec(pvt.check_sra_forward) is None
    free = checking.page_spec(checking.check_choice, options={1: "a"}, right=1, question="q")
    assert free is None  # read by a function of its own: not described
    assert capsys.readouterr().out == ""


def test_page_spec_of_a_choice_says_how_answers_are_read():
    from vit_notes import coatnet, pvt

    assert checking.page_spec(pvt.check_sr_choice)["parse"] == {"kind": "int"}
    layout = checking.page_spec(coatnet.check_layout_choice)
    assert layout["parse"]["kind"] == "name" and "C-C-T-T" in layout["parse"]["names"]
    assert layout["right"] in layout["parse"]["names"]


# --- forward checkers: the student rebuilds the module's forward, every step ---------------
#
# Each chapter's forward checker, with small configurations (one of them shifted or reduced),
# its package helper (the reference steps, as a student who writes it right), and how the
# module under test is called.


def _forward_checkers():
    """Chapter -> ``(check, steps, configs)``, from each chapter's registration
    (``registry.ForwardExercise``): a new chapter's forward exercise is tested here unchanged."""
    return {d.family: (d.forward.check, d.forward.steps, d.forward.configs) for d in _forward()}


def _forward():
    from vit_notes import registry

    return [d for d in registry.chapters() if d.forward is not None]


FORWARD_CHAPTERS = [d.family for d in _forward()]


def test_every_compared_design_registers_its_forward_exercise():
    from vit_notes import registry

    assert {d.family for d in registry.designs()} <= set(FORWARD_CHAPTERS)


def _run(check, fn, configs):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ok = check(fn, configs)
    return ok, " ".join(out.getvalue().split())


@pytest.mark.parametrize("chapter", FORWARD_CHAPTERS)
def test_a_forward_checker_passes_the_package_steps(chapter):
    check, steps, configs = _forward_checkers()[chapter]
    ok, out = _run(check, steps, configs)
    assert ok and out.startswith("✅"), out


@pytest.mark.parametrize("chapter", FORWARD_CHAPTERS)
@pytest.mark.parametrize(
    "slip",
    [
        lambda m, *a: m(*a),
        lambda m, *a: dict(out=m(*a)),
        lambda m, *a: m.forward(*a),
        "steps, then the module",
    ],
    ids=["module(...)", "dict(out=module(...))", "module.forward(...)", "steps, then module"],
)
def test_a_forward_checker_fails_an_answer_that_calls_the_module(chapter, slip):
    # The slip (review E1): the "solution" calls the module under test and returns its output.
    check, steps, configs = _forward_checkers()[chapter]
    if slip == "steps, then the module":

        def slip(m, *a):
            return {**steps(m, *a), "out": m(*a)}

    ok, out = _run(check, slip, configs)
    assert not ok and out.startswith("❌ not yet"), out
    assert "raised NotImplementedError" in out and "not the" in out, out


@pytest.mark.parametrize("chapter", FORWARD_CHAPTERS)
def test_a_forward_checker_fails_the_output_alone_and_names_every_step(chapter):
    check, steps, configs = _forward_checkers()[chapter]
    ok, out = _run(check, lambda m, *a: steps(m, *a)["out"], configs)
    assert not ok and "you returned only the output" in out, out
    _, module, args = next(iter(_cases(chapter, configs)))
    names = [k for k in steps(module, *args) if k != "out"]
    assert f"return a dict with {', '.join(names)} and out" in out, out


@pytest.mark.parametrize("chapter", FORWARD_CHAPTERS)
def test_a_forward_checker_fails_a_step_left_out_and_names_it(chapter):
    check, steps, configs = _forward_checkers()[chapter]
    attn = next(d.forward.attn_step for d in _forward() if d.family == chapter)
    for left_out in (attn, "out"):

        def partial(m, *a, left_out=left_out):
            return {k: v for k, v in steps(m, *a).items() if k != left_out}

        ok, out = _run(check, partial, configs)
        assert not ok and f"the step {left_out} is missing" in out, out


def _cases(chapter, configs):
    return next(d.forward.cases for d in _forward() if d.family == chapter)(configs)


def test_refusing_calls_refuses_the_named_functions_inside_only():
    import torch

    with checking.refusing_calls(lambda name: "use a matmul" if name == "conv2d" else None):
        with pytest.raises(NotImplementedError, match="use a matmul"):
            torch.nn.functional.conv2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 1, 1))
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).sum().item() == 8.0
    assert torch.conv2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 1, 1)).sum().item() == 4.0
    with checking.refusing_calls(None):  # nothing refused
        torch.conv2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 1, 1))


def test_a_checkers_refusal_is_printed_whole_and_a_students_long_error_is_cut():
    long = "x" * 300
    assert checking.error_text(checking.refusal(long)) == f"NotImplementedError: {long}"
    assert checking.error_text(NotImplementedError(long)).endswith("...")


def test_steps_only_switches_off_the_forward_of_a_copy_only():
    import torch

    from vit_notes.swin.exercises import REFUSE

    _, layer, args = next(iter(_cases("swin", ((8, 8, 16, 2, 4, 2),))))
    guarded = checking.steps_only(layer, REFUSE)
    assert isinstance(guarded, type(layer)) and isinstance(guarded.attn, type(layer.attn))
    with pytest.raises(NotImplementedError, match="call the layer's parts, not the layer itself"):
        guarded(*args)
    with pytest.raises(NotImplementedError, match="write the attention products out"):
        guarded.attn(torch.zeros(1, 16, 16))
    with torch.no_grad():
        torch.testing.assert_close(guarded.attn.qkv(args[0]), layer.attn.qkv(args[0]))
        layer(*args)  # the original still runs


@pytest.mark.parametrize(
    "answer,value",
    [
        ("0.2548G", 254_800_000),  # 0.2548 * 1e9 is 254800000.00000003 in floats
        ("254.8M", 254_800_000),
        ("0.1G", 100_000_000),
        ("1.005k", 1005),
        ("-2.5k", -2500),
        (".5M", 500_000),
        ("2.5e3k", 2_500_000),
        ("1e-3k", 1),
        ("0.00025k", 0.25),
        ("1e30G", 1e39),
        ("1e9999999G", None),
        ("1.2.3M", None),
    ],
)
def test_suffixed_numbers_parse_exactly(answer, value):
    assert checking.as_number(answer) == value
    assert type(checking.as_number(answer)) is type(value)


def test_a_decimal_comma_is_named_not_read_as_thousands(capsys):
    # the slip of a reader who writes decimals with a comma: "3,22" is not 322
    for text in ("3,22", "2,5", "12,5k", "3,1360"):
        assert checking.as_number(text) is None
        assert not checking.check_prediction(text, 3.22, "the ratio", "then look")
        out = " ".join(capsys.readouterr().out.split())
        assert "a comma only separates thousands, as in 3,136" in out
        assert checking.parse_count(text, "tokens") is None
        assert "comma only separates thousands" in capsys.readouterr().out
    for text, value in (("3,136", 3136), ("1,000,000", 1_000_000), ("3,136.5", 3136.5)):
        assert checking.as_number(text) == value
    assert checking.format_note("3.22") is None and checking.format_note(3) is None


def test_an_unknown_suffix_is_named(capsys):
    for text in ("254.8m", "254.8 million", "7x"):
        assert checking.unknown_suffix(text) == text.replace(" ", "").lstrip("0123456789.")
        assert not checking.check_count(text, 254_803_968, "multiply-adds", "ok", step=100_000)
        out = " ".join(capsys.readouterr().out.split())
        assert f"the suffixes read are k, M and G, not '{checking.unknown_suffix(text)}'" in out
        assert checking.parse_count(text, "tokens") is None
        assert "not '" in capsys.readouterr().out
    assert checking.unknown_suffix("254.8M") is None and checking.unknown_suffix("abc") is None
    assert checking.unknown_suffix(3) is None
    # the right count, rounded to the step, typed in G: accepted, not "not whole"
    assert checking.check_count("0.2548G", 254_803_968, "multiply-adds", "ok", step=100_000)


@pytest.mark.parametrize(
    "answer,says",
    [
        (120, "6 parts, not 12"),  # an integer multiple: 2× the right count
        (20, "6 parts, not 2"),  # a fraction: 1/3 of it
        (90, "6 parts, not 9"),  # 3/2 of it: still a whole number of parts
        (70, "look again"),  # 7 parts, but a known mistake is tried first
        (250, "250 is too high, 2× to 10× off; h"),  # beyond 4n parts: told its band
    ],
)
def test_check_count_names_a_wrong_number_of_parts(capsys, answer, says):
    # one rule for every k: a whole number k of the right count's n equal parts
    why = "each part is right; the count has 6 parts, not {k}"
    assert not checking.check_count(
        answer, 60, "things", "ok", mistakes=[(70, "look again")], parts=(6, why), hint="h"
    )
    assert says in capsys.readouterr().out


def test_check_count_parts_leave_the_right_count_and_odd_parts_alone(capsys):
    assert checking.check_count(60, 60, "things", "ok", parts=(6, "not {k}"))
    assert not checking.check_count(120, 61, "things", "ok", parts=(6, "not {k}"))  # 6 ∤ 61
    assert "not {k}" not in capsys.readouterr().out and checking._whole_parts(55, 60, 6) is None


@pytest.mark.parametrize(
    "answer, unit_word",
    [(123, "millions"), ("122.88", "millions"), (122880, "thousands"), (0.12288, "billions")],
)
def test_a_count_in_millions_is_told_its_unit(answer, unit_word, capsys):
    """Review PVT r44 E1: the right count given in thousands, millions or billions (the units
    the chapter prints) is named as a unit slip, not as a missing term or a fraction."""
    from vit_notes import pvt

    assert pvt.check_sra_macs(answer, H=40, W=40, dim=128, num_heads=2, sr_ratio=4) is False
    out = " ".join(capsys.readouterr().out.split())
    assert f"looks like the count in {unit_word}" in out
    assert "122,880,000" not in out  # the answer is not given away


def test_no_unit_slip_for_a_count_far_from_one_or_a_small_answer(capsys):
    from vit_notes import pvt

    pvt.check_sra_macs(100, H=40, W=40, dim=128, num_heads=2, sr_ratio=4)
    pvt.check_kv_tokens(0.049)  # 49 tokens: no unit of a thousand tokens
    assert "looks like the count" not in capsys.readouterr().out


def test_last_digit_reads_a_numpy_integer_as_whole():
    """Audit 7, N8: ``np.int64(1000)`` was read through ``repr(float(...))`` as ``1000.0``."""
    import numpy as np

    for value in (np.int64(1000), np.int32(16), np.uint8(7)):
        assert checking.last_digit(value) == 1.0
    assert checking.within_digits(np.int64(16), 16.4)
    assert checking.within_digits(16, 16.4)
