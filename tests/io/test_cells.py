"""Text that a spreadsheet would take for a formula: out behind an apostrophe, back as it was."""

from __future__ import annotations

import itertools

import pandas as pd

from gridmap.io.cells import FORMULA_STARTS, apostrophes_off, text_safe


def test_every_short_text_goes_out_safe_and_comes_back_as_it_was():
    """Every text of up to four characters made of apostrophes, signs and letters: none goes
    out starting like a formula (but a lone sign), and each reads back exactly; numbers and
    empty cells are left alone."""
    alphabet = ["'", "=", "+", "-", "@", "\t", "a", "锦"]
    texts = ["".join(p) for k in range(5) for p in itertools.product(alphabet, repeat=k)]
    frame = pd.DataFrame(
        {"text": pd.Series([*texts, None, 5, -3.5], dtype=object), "n": range(len(texts) + 3)}
    )
    out = text_safe(frame)
    written = [v for v in out["text"] if isinstance(v, str)]
    assert not [v for v in written if len(v) > 1 and v.startswith(FORMULA_STARTS)]
    assert out["text"].iloc[-3:].tolist()[1:] == [5, -3.5] and out["text"].iloc[-3] is None
    assert out["n"].equals(frame["n"])
    back = apostrophes_off(out)
    assert back["text"].iloc[: len(texts)].tolist() == texts
