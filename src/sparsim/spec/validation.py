"""Turn pydantic validation errors into one SparsimError line with a precise key path."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sparsim.errors import SparsimError

ModelT = TypeVar("ModelT", bound=BaseModel)


def error_path(loc: tuple[Any, ...]) -> str:
    """``("mapping", 3, "factors")`` -> ``"mapping[3].factors"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def validate(model: type[ModelT], data: Any, where: str | None = None) -> ModelT:
    """Validate ``data`` into ``model``; the first problem becomes a SparsimError.

    ``where`` (usually a file name) is prefixed to the key path of the problem.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        # Drop pydantic's union/discriminator tags from the path: users never wrote them.
        loc = tuple(
            p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        key = error_path(loc)
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "missing required key"
        elif first["type"] == "extra_forbidden":
            message = "unknown key"
        location = f"{where}: {key}" if where and key else (where or key or None)
        raise SparsimError(message, location) from None
