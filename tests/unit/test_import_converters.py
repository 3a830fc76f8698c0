"""The import file's money converters: yuan → fen (prices to micro-yuan), exact, never negative."""

from __future__ import annotations

import pytest

from yibao.ingest import kinds


def test_amounts_and_prices_convert_exactly_and_refuse_negatives():
    assert kinds.amount("12.30", None) == 1230 and kinds.amount(" 0 ", None) == 0
    assert kinds.price("12.5", None) == 12_500_000
    for convert, bad in ((kinds.amount, "-0.01"), (kinds.price, "-1")):
        with pytest.raises(kinds.ValidationError, match="不能为负"):
            convert(bad, None)
    with pytest.raises(kinds.ValidationError):
        kinds.amount("1.234", None)  # fen is the finest unit
