"""Turn pydantic validation errors into one typed SparsimError line with a precise key path.

Validators report a size beyond :mod:`sparsim.limits` as a ``resource_limit`` error (a
:class:`~sparsim.errors.ResourceLimitError`), and may raise a SparsimError subclass
directly (its ``where`` is a key path inside the model, prefixed here with the file).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from sparsim.errors import ResourceLimitError, SparsimError, SpecError
from sparsim.limits import MAX_DIMENSION

ModelT = TypeVar("ModelT", bound=BaseModel)
RESOURCE_LIMIT = "resource_limit"


def error_path(loc: tuple[Any, ...]) -> str:
    """``("mapping", 3, "factors")`` -> ``"mapping[3].factors"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def located(where: str | None, key: str | None) -> str | None:
    """``"file: key.path"``, or whichever of the two is given."""
    return f"{where}: {key}" if where and key else (where or key or None)


def sparsim_error(exc: ValidationError, where: str | None = None) -> SparsimError:
    """The first problem of a pydantic error as a typed SparsimError at ``where: key.path``."""
    first = exc.errors(include_url=False)[0]
    # Drop pydantic's union/discriminator tags from the path: users never wrote them.
    loc = tuple(
        p
        for p in first["loc"]
        if not (isinstance(p, str) and (p.startswith("function-") or p in ("gemm", "conv")))
    )
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "missing required key"
    elif first["type"] == "extra_forbidden":
        message = "unknown key"
    error_type = ResourceLimitError if first["type"] == RESOURCE_LIMIT else SpecError
    return error_type(message, located(where, error_path(loc)))


def validate(model: type[ModelT], data: Any, where: str | None = None) -> ModelT:
    """Validate ``data`` into ``model``; the first problem becomes a typed SparsimError.

    ``where`` (usually a file name) is prefixed to the key path of the problem.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise sparsim_error(exc, where) from None
    except SparsimError as exc:  # raised by a validator with its key path inside the model
        raise exc.located(where) if where else exc from None


class Checked(BaseModel):
    """A model whose constructor, like :func:`validate`, raises typed SparsimErrors."""

    def __init__(self, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise sparsim_error(exc) from None

    # Tell pydantic this __init__ only wraps its own, so that a Checked model nested in
    # another is validated directly and its errors keep their full key path.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


def resource_limit(message: str) -> PydanticCustomError:
    """A validator's error for a size beyond :mod:`sparsim.limits`."""
    return PydanticCustomError(RESOURCE_LIMIT, message)


def _integer_not_boolean(value: Any) -> Any:
    """YAML's ``true`` is not the count 1."""
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got the boolean {str(value).lower()}")
    return value


def _within_dimension_limit(value: int) -> int:
    if value > MAX_DIMENSION:
        raise resource_limit(
            f"{value:,} is beyond sparsim's limit of {MAX_DIMENSION:,} per dimension (see "
            "'Bad input and size limits' in the README)"
        )
    return value


Dimension = Annotated[
    int,
    BeforeValidator(_integer_not_boolean),
    Field(gt=0),
    AfterValidator(_within_dimension_limit),
]
"""A positive problem size (dimension, batch, groups...): no YAML booleans, within the limit."""

Count = Annotated[int, BeforeValidator(_integer_not_boolean), Field(gt=0)]
"""A positive integer that is not a YAML boolean (an N:M block size, a count)."""
