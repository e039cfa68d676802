"""compiler/validation.py's walk over the models, at the functions: the YAML path of a pydantic error, the keys
and the allowed values at a path (the did-you-mean of every message), what salvage removes, and which
diagnostics a salvaged document may still draw. The invalid cases reach each only for a few paths."""

from __future__ import annotations

import typing
from typing import Annotated, Literal, Optional, Union

import pytest
from pydantic import BaseModel, Field

from compiler import model
from compiler import validation as v

D = model.Deployment


def test_a_pydantic_location_loses_the_union_tag_and_keeps_indices_and_key_markers():
    assert v._yaml_path(D, ("spec", "alb", "task", "memory")) == ("spec", "task", "memory")
    assert v._yaml_path(D, ("spec", "websocket", "schedule", "days", 2)) == ("spec", "schedule", "days", 2)
    assert v._yaml_path(D, ("metadata", "labels", "x", "[key]")) == ("metadata", "labels", "x", "[key]")
    assert v._yaml_path(D, ("nowhere", "deeper")) == ("nowhere", "deeper")


@pytest.mark.parametrize("path, topology, keys", [
    (("spec", "task"), "alb", ["cpu", "memory", "architecture", "spot", "minCount", "maxCount", "cpuTargetPercent",
                               "stopTimeoutSeconds"]),
    (("spec",), "nat-instance", ["region", "image", "task", "schedule", "onDemand", "logs", "auth", "alerts", "tools",
                                 "topology", "natInstance"]),
    (("spec", "auth", "authPage"), "websocket", ["signupCode", "tokenDays", "attemptsPerHour"]),  # an optional model
    (("spec", "schedule", "days"), "alb", []),      # a list: no keys
    (("metadata", "labels"), None, []),             # a mapping of the user's own keys
    (("spec", "nosuch"), "alb", []),
])
def test_the_keys_a_model_accepts_at_a_path(path, topology, keys):
    assert v._keys_at(D, path, topology) == keys


@pytest.mark.parametrize("path, values", [
    (("spec", "schedule", "days", 0), ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]),  # a list item, annotated
    (("spec", "task", "architecture"), ["arm64", "x86_64"]),
    (("spec", "auth", "mode"), ["api-key", "tokens"]),
    (("spec", "region"), []),
])
def test_the_values_a_literal_field_allows(path, values):
    assert v._literal_values(D, path, "alb") == values


def test_a_mapping_value_has_the_mappings_value_type():
    value = v._annotation_at(D, ("metadata", "labels", "team"), None)
    assert typing.get_origin(value) is Annotated and typing.get_args(value)[0] is str


def test_unwrap_strips_annotations_and_optional_but_keeps_real_unions():
    assert v._unwrap(Annotated[int, "why"]) is int
    assert v._unwrap(Optional[Annotated[int, "why"]]) is int
    assert v._unwrap(Union[int, str, None]) == Union[int, str]
    assert v._unwrap(Union[int, str]) == Union[int, str]
    assert v._unwrap(list[int]) == list[int]


def test_the_union_member_a_topology_selects():
    spec = D.model_fields["spec"].annotation
    assert v._union_member(spec, "alb") is model.AlbSpec
    assert v._union_member(spec, "nat-instance") is model.NatInstanceSpec
    assert v._union_member(spec, "lambda") is None
    assert v._union_member(Union[int, str], "alb") is None  # members without fields
    assert v._union_member(model.AlbSpec, "alb") is None    # not a union
    assert v._members(int) == () and v._members(Union[int, str]) == (int, str) and v._members(list[int]) == ()


def test_step_into_lists_mappings_and_nothing_else():
    assert v._step(list[int], 0) is int
    assert v._step(dict[str, float], "key") is float
    assert v._step(int, "x") is None
    assert v._step(tuple[int, str], 0) is None
    assert v._step(Literal["a"], 0) is None


def test_remove_deletes_the_innermost_mapping_key_on_the_path():
    data = {"a": [{"b": 1, "c": 2}], "d": {"e": 3}}
    assert v._remove(data, ("a", 0, "b")) == ("a", 0, "b") and data == {"a": [{"c": 2}], "d": {"e": 3}}
    assert v._remove(data, ("d", "e", "f")) == ("d", "e") and data == {"a": [{"c": 2}], "d": {}}
    assert v._remove(data, ("a", 1, "b")) == ("a",) and data == {"d": {}}  # just past the end of the list
    assert v._remove(data, ("x", "y")) is None


def test_remove_reaches_the_top_level():
    data = {"spec": 5, "kind": "Deployment"}
    assert v._remove(data, ("spec", "task")) == ("spec",) and data == {"kind": "Deployment"}


@pytest.mark.parametrize("path, sure", [
    ("spec.task", False), ("spec.task.memory", False), ("spec.task[0]", False),
    ("spec.taskforce", True), ("spec.tasks.memory", True), ("spec", True), ("metadata.name", True),
])
def test_a_salvaged_document_says_nothing_inside_its_unsure_sections(path, sure):
    source = v.Source(doc=None, model=None, unsure=frozenset({"spec.task"}))
    assert source.sure_of(path) is sure


def test_a_config_is_named_as_the_user_named_its_file(tmp_path):
    path = tmp_path / "deployment.yaml"
    path.write_text("apiVersion: mcpdeploy/v1alpha1\nkind: ImageRepository\nmetadata: {name: images}\n"
                    "spec: {region: us-east-1}\n")
    assert v.load_config(str(path), display_name="shown.yaml").file == "shown.yaml"
    assert v.load_config(str(path)).file == str(path)


class _Inner1(BaseModel):
    topology: Literal["c"]
    x: int


class _Inner2(BaseModel):
    topology: Literal["e"]


class _Outer1(BaseModel):
    topology: Literal["a"]
    inner: Annotated[Union[_Inner1, _Inner2], Field(discriminator="topology")]


class _Outer2(BaseModel):
    topology: Literal["b"]


class _Nested(BaseModel):
    spec: Annotated[Union[_Outer1, _Outer2], Field(discriminator="topology")]


def test_every_union_tag_leaves_the_path_not_only_the_first():
    assert v._yaml_path(_Nested, ("spec", "a", "inner", "c", "x")) == ("spec", "inner", "x")
