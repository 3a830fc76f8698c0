"""Domain refusals as HTTP answers for the REST resources (拒绝的答复), one mapping for every resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException
from sqlalchemy.exc import IntegrityError

from yibao.errors import NotFound, YibaoError


@contextmanager
def refusals() -> Iterator[None]:
    """Domain refusals as HTTP: NotFound → 404, any other yibao error → 422, a unique key taken by a
    concurrent write → 409. The unit of work inside has rolled back: nothing was written."""
    try:
        yield
    except HTTPException:
        raise
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None
    except YibaoError as exc:
        raise HTTPException(422, exc.message) from None
    except IntegrityError:
        raise HTTPException(409, "与现有记录冲突（可能刚被他人登记），请刷新后重试") from None
