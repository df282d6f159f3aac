"""Hypothesis strategies from the JSON schemas in an OpenAPI document: the keywords pydantic emits
($ref, anyOf, const, enum, type, properties, required, additionalProperties, items, min/max items,
lengths and bounds, examples). Sizes are kept small so thousands of bodies take seconds."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from tests.json_strategies import json_scalars, json_values

MAX_TEXT = 12
MAX_ITEMS = 2


def from_openapi(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against ``schema``, whose ``$ref`` s point into ``components`` (``#/components/schemas/X``)."""
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return st.deferred(lambda: from_openapi(target, components))
    if "anyOf" in schema:
        return st.one_of([from_openapi(s, components) for s in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_openapi({**schema, "type": k}, components) for k in kind])
    drawn = _TYPES.get(kind, lambda s, c: json_values)(schema, components)
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:  # copies: a test may change what it drew
        return drawn | st.sampled_from(examples).map(copy.deepcopy)
    return drawn


def _string(schema: dict[str, Any], _: dict[str, Any]) -> st.SearchStrategy[str]:
    low = schema.get("minLength", 0)
    return st.text(min_size=low, max_size=max(low, min(schema.get("maxLength", MAX_TEXT), MAX_TEXT)))


def _integer(schema: dict[str, Any], _: dict[str, Any]) -> st.SearchStrategy[int]:
    return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))


def _number(schema: dict[str, Any], _: dict[str, Any]) -> st.SearchStrategy[float]:
    low, high = schema.get("minimum"), schema.get("maximum")
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def _array(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[list[Any]]:
    low = schema.get("minItems", 0)
    high = max(low, min(schema.get("maxItems", MAX_ITEMS), MAX_ITEMS))
    return st.lists(from_openapi(schema.get("items", {}), components), min_size=low, max_size=high)


def _object(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = {k: from_openapi(v, components) for k, v in schema.get("properties", {}).items()}
    required = set(schema.get("required", ()))
    fixed = st.fixed_dictionaries(
        {k: v for k, v in properties.items() if k in required},
        optional={k: v for k, v in properties.items() if k not in required},
    )
    extra = schema.get("additionalProperties", False)
    if extra is False:
        return fixed
    values = json_scalars if extra is True else from_openapi(extra, components)
    keys = st.text(max_size=12).filter(lambda k: k not in properties)
    return st.builds(lambda a, b: {**b, **a}, fixed, st.dictionaries(keys, values, max_size=1))


_TYPES = {
    "null": lambda s, c: st.none(),
    "boolean": lambda s, c: st.booleans(),
    "string": _string,
    "integer": _integer,
    "number": _number,
    "array": _array,
    "object": _object,
}
