"""Every reply of the recorded facade corpus (tests/corpus.py) is the same, byte for byte, on both databases.

The corpus was recorded from main before the settlement path was reorganised (issue 25); a change that alters
what the facade answers fails here at the first reply that differs. When a change of a reply is intended,
record the corpus again (``python -m tests.corpus record``) and say why in the commit."""

from __future__ import annotations

from tests import corpus


def test_the_facade_answers_the_recorded_corpus_byte_for_byte(engine):
    recorded = corpus.load()
    played = list(corpus.drive(engine))
    assert len(played) == len(recorded)
    for k, ((env, reply), was) in enumerate(zip(played, recorded, strict=True)):
        assert corpus.exactjson.dumps(env) == was["request"], f"call {k}: the script sent another request"
        assert reply.decode("utf-8") == was["reply"], f"call {k} ({env['infno']}): the reply differs"
