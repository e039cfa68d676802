"""A Hypothesis strategy for the documents a JSON schema accepts: the subset pydantic writes into
compiler/deployment.schema.json ($ref, oneOf/anyOf, const, enum, objects with properties, patternProperties and
additionalProperties false, strings with pattern/length, bounded numbers, arrays). hypothesis-jsonschema would
be the library for this, but its last release (0.23.1) fails with current Hypothesis (it calls a removed
internal, `many.more()`); tests check every drawn document against the schema with jsonschema all the same."""

from __future__ import annotations

from hypothesis import strategies as st

MAX_ITEMS = 4
# Strings the schema leaves free but the model checks further (time zones, CIDR blocks): some plausible ones, so
# that more documents get past validation to the compiler and the lint.
PLAUSIBLE = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "203.0.113.0/24", "10.0.0.0/8",
             "2001:db8::/32", "0.0.0.0/0")


def from_schema(schema: dict, root: dict) -> st.SearchStrategy:
    if "$ref" in schema:
        return from_schema(_resolve(schema["$ref"], root), root)
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return st.one_of([from_schema(option, root) for option in schema[combinator]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, root)
    if kind == "array":
        items = from_schema(schema.get("items", {}), root)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", MAX_ITEMS))
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        low = schema.get("minimum", schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else None)
        return st.integers(min_value=low, max_value=schema.get("maximum"))
    if kind == "number":
        return st.floats(min_value=schema.get("minimum", schema.get("exclusiveMinimum")),
                         max_value=schema.get("maximum"), exclude_min="exclusiveMinimum" in schema,
                         allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise NotImplementedError(f"schema construct not covered: {sorted(schema)}")


def _resolve(ref: str, root: dict) -> dict:
    node = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _object(schema: dict, root: dict) -> st.SearchStrategy:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fixed = st.fixed_dictionaries(
        {name: from_schema(sub, root) for name, sub in properties.items() if name in required},
        optional={name: from_schema(sub, root) for name, sub in properties.items() if name not in required})
    patterns = schema.get("patternProperties")
    if not patterns:
        return fixed
    (pattern, value), = patterns.items()
    extra = st.dictionaries(st.from_regex(pattern, fullmatch=True), from_schema(value, root), max_size=3)
    return st.tuples(fixed, extra).map(lambda parts: {**parts[1], **parts[0]})


def _string(schema: dict) -> st.SearchStrategy:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(
            lambda s: len(s) >= low and (high is None or len(s) <= high))
    plausible = [value for value in PLAUSIBLE if len(value) >= low and (high is None or len(value) <= high)]
    text = st.text(st.characters(exclude_categories=("Cs",)), min_size=low, max_size=min(high or 20, 20))
    return st.one_of(text, st.sampled_from(plausible))
