"""The claims page's judge of the recurrent chapter (``judge_gated``): one test per verdict
branch with plausible numbers, and the verdict the page's own experiments give."""

from __future__ import annotations

import pytest

from vgexamples import claims as c
from vgexamples.experiments import adding
from vgexamples.sequences import ADDING_BUDGET

CELLS = ("rnn", "lstm", "gru")


def _values(solved: dict[tuple[int, str], bool], **extra: object) -> dict[str, object]:
    """A summary like the page's: solved flags and MSEs at lengths 25 and 100."""
    v: dict[str, object] = {"length": 100, "budget": "test budget", "threshold_t25": 1 / 60}
    for (n, cell), ok in solved.items():
        v[f"{cell}_t{n}_solved"] = ok
        v[f"{cell}_t{n}_mse"] = 0.002 if ok else 0.16
        v[f"{cell}_t{n}_correct"] = 0.95 if ok else 0.15
    v.update(extra)
    return v


def _flags(rnn: tuple[bool, bool], lstm: tuple[bool, bool], gru: tuple[bool, bool]):
    return {
        (n, cell): flags[i]
        for cell, flags in zip(CELLS, (rnn, lstm, gru), strict=True)
        for i, n in enumerate((25, 100))
    }


def test_holds_when_both_gated_cells_solve_both_lengths_and_the_rnn_neither():
    v = c.judge_gated(_values(_flags((False, False), (True, True), (True, True))))
    assert v.verdict == "holds"
    assert "fails for" not in v.evidence
    assert "0.0167" in v.criterion and "25 and 100" in v.criterion


def test_under_conditions_when_the_lstm_fails_the_long_length():
    v = c.judge_gated(_values(_flags((False, False), (True, False), (True, True))))
    assert v.verdict == "holds only under conditions"
    assert "the LSTM at length 100" in v.evidence
    assert "the GRU at length" not in v.evidence.split("fails for")[1]


def test_false_here_when_the_rnn_solves_whatever_a_gated_cell_solves():
    v = c.judge_gated(_values(_flags((True, False), (True, False), (True, False))))
    assert v.verdict == "false here"
    v = c.judge_gated(_values(_flags((False, False), (False, False), (False, False))))
    assert v.verdict == "false here"


def test_evidence_follows_the_numbers():
    flags = _flags((False, False), (True, False), (True, True))
    vanishing = {f"{cell}_t100_ratio_at_init": 1e-20 for cell in CELLS}
    text = c.judge_gated(_values(flags, **vanishing)).evidence
    assert "all three lose the gradient" in text
    not_vanishing = {**vanishing, "gru_t100_ratio_at_init": 0.3}
    text = c.judge_gated(_values(flags, **not_vanishing)).evidence
    assert "all three lose" not in text and "not every cell" in text
    # No gradient numbers, no sentence about the gradient.
    assert "gradient" not in c.judge_gated(_values(flags)).evidence
    trained = {"rnn_t100_ratio_trained": 1e-17, "lstm_t100_ratio_trained": 1e-19}
    text = c.judge_gated(_values(flags, gru_t100_ratio_trained=0.1, **trained)).evidence
    assert "carry more of the gradient" in text
    text = c.judge_gated(_values(flags, gru_t100_ratio_trained=1e-20, **trained)).evidence
    assert "not consistently more" in text


@pytest.mark.slow
def test_real_summary_verdict():
    """The page's budget and seed: the verdict the data give, pinned."""
    short = adding.run_lengths(lengths=(25,), budget=ADDING_BUDGET, device="cpu")
    long = adding.run_long(budget=ADDING_BUDGET, device="cpu")
    # as the claims page merges them: recurrent.adding, then recurrent.long (with its length)
    v = c.judge_gated({**short.summary(), **long.summary(), "length": long.lengths[0]})
    assert v.verdict == "holds only under conditions"
    assert "the LSTM at length 100" in v.evidence
    assert "all three lose the gradient" in v.evidence
