"""Validation failures as the contract's one-line messages: ``Invalid <field>: <why>``."""

from __future__ import annotations

from pydantic import ValidationError


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("events", 3, "meta", "fp")`` -> ``events[3].meta.fp``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


class PayloadError(ValueError):
    """A request body that breaks the contract; ``message`` is what the client sees."""

    def __init__(self, field: str, why: str) -> None:
        self.field = field
        self.message = f"Invalid {field}: {why}"
        super().__init__(self.message)

    @classmethod
    def from_validation(cls, exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> PayloadError:
        err = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        # Tagged-union / function validators add their tag to the location: keep field names only.
        loc = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "json-")))
        why = err["msg"].removeprefix("Value error, ")
        return cls(field_path(prefix + loc), why)
