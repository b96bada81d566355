"""Behaviour of the tagged JSON serializer used for session data."""

from __future__ import annotations

import typing as t
from collections import OrderedDict
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from datetime import UTC
from uuid import UUID

import pytest
from markupsafe import Markup

from erlen.json.tag import JSONTag
from erlen.json.tag import TaggedJSONSerializer


@pytest.fixture
def serializer() -> TaggedJSONSerializer:
    return TaggedJSONSerializer()


@pytest.mark.parametrize(
    "value",
    [
        None,
        "text",
        12,
        1.5,
        True,
        [1, "a", None],
        {"a": 1, "b": [1, 2]},
        (1, 2, 3),
        [(1, (2, 3))],
        {"x": (1, 2), "y": {"z": b"\x00\xff"}},
        b"\xff\xfe",
        Markup("<b>bold</b>"),
        UUID("12345678-1234-5678-1234-567812345678"),
        datetime(2024, 2, 29, 13, 14, 15, tzinfo=UTC),
    ],
)
def test_values_survive_a_round_trip(serializer: TaggedJSONSerializer, value: t.Any) -> None:
    restored = serializer.loads(serializer.dumps(value))

    assert restored == value
    assert type(restored) is type(value)


@pytest.mark.parametrize(
    "value",
    [{" t": [1, 2]}, {" di": " di"}, {" b": "abc"}, {" t__": "x"}, {" t": {" t": [1]}}],
)
def test_dicts_that_look_like_tags_stay_dicts(
    serializer: TaggedJSONSerializer, value: dict[str, t.Any]
) -> None:
    assert serializer.loads(serializer.dumps(value)) == value


def test_output_is_compact_json(serializer: TaggedJSONSerializer) -> None:
    assert serializer.dumps({"a": (1, 2)}) == '{"a":{" t":[1,2]}}'


def test_naive_datetime_loads_as_utc_with_whole_seconds(serializer: TaggedJSONSerializer) -> None:
    value = datetime(2021, 5, 6, 7, 8, 9, 123456)

    restored = serializer.loads(serializer.dumps(value))

    assert restored == datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_aware_datetime_is_stored_in_utc(serializer: TaggedJSONSerializer) -> None:
    value = datetime(2021, 5, 6, 9, 0, tzinfo=timezone(timedelta(hours=2)))

    restored = serializer.loads(serializer.dumps(value))

    assert restored == value
    assert restored.tzinfo == UTC


@pytest.mark.parametrize("year", [1, 49, 50, 99, 100, 1999, 9999])
def test_datetime_keeps_its_year(serializer: TaggedJSONSerializer, year: int) -> None:
    # The HTTP date parser reads two-digit years the RFC 2822 way (99 -> 1999); the tag
    # writes four digits, so it must read them back as written (found by test_fuzz_inputs).
    value = datetime(year, 3, 4, 5, 6, 7, tzinfo=UTC)

    assert serializer.loads(serializer.dumps(value)) == value


def test_datetime_in_another_http_date_form_still_loads(serializer: TaggedJSONSerializer) -> None:
    # What an older cookie (or a hand-made one) may hold: the RFC 850 form.
    restored = serializer.loads('{" d":"Sunday, 06-Nov-94 08:49:37 GMT"}')

    assert restored == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


def test_objects_with_html_method_load_as_markup(serializer: TaggedJSONSerializer) -> None:
    class Widget:
        def __html__(self) -> str:
            return "<i>w</i>"

    restored = serializer.loads(serializer.dumps(Widget()))

    assert restored == Markup("<i>w</i>")
    assert isinstance(restored, Markup)


def test_unknown_tag_keys_are_left_alone(serializer: TaggedJSONSerializer) -> None:
    assert serializer.loads('{" zz": 1}') == {" zz": 1}
    assert serializer.loads('{" t": [1], "other": 2}') == {" t": [1], "other": 2}


def test_registering_a_duplicate_key_raises(serializer: TaggedJSONSerializer) -> None:
    class OtherDateTime(JSONTag):
        key = " d"

    with pytest.raises(KeyError) as exc_info:
        serializer.register(OtherDateTime)

    assert exc_info.value.args[0] == "Tag ' d' is already registered."


def test_force_replaces_a_tag_and_index_sets_its_position(
    serializer: TaggedJSONSerializer,
) -> None:
    class OtherDateTime(JSONTag):
        key = " d"

    serializer.register(OtherDateTime, force=True, index=0)

    assert isinstance(serializer.tags[" d"], OtherDateTime)
    assert isinstance(serializer.order[0], OtherDateTime)


def test_register_appends_by_default_and_inserts_at_an_index(
    serializer: TaggedJSONSerializer,
) -> None:
    class First(JSONTag):
        key = " 1"

    class Second(JSONTag):
        key = " 2"

    serializer.register(First, index=-1)
    assert isinstance(serializer.order[-2], First)

    serializer.register(Second)
    assert isinstance(serializer.order[-1], Second)


def test_custom_tag_before_dicts_keeps_ordered_dict_order(
    serializer: TaggedJSONSerializer,
) -> None:
    class TagOrderedDict(JSONTag):
        __slots__ = ()
        key = " od"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, OrderedDict)

        def to_json(self, value: t.Any) -> t.Any:
            return [[k, self.serializer.tag(v)] for k, v in value.items()]

        def to_python(self, value: t.Any) -> t.Any:
            return OrderedDict(value)

    serializer.register(TagOrderedDict, index=0)
    value = OrderedDict([("b", (1,)), ("a", 2)])

    restored = serializer.loads(serializer.dumps(value))

    assert isinstance(restored, OrderedDict)
    assert list(restored.items()) == [("b", (1,)), ("a", 2)]


def test_custom_tag_can_nest_tagged_values(serializer: TaggedJSONSerializer) -> None:
    class Point:
        def __init__(self, coords: tuple[int, int]) -> None:
            self.coords = coords

    class TagPoint(JSONTag):
        __slots__ = ()
        key = " p"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, Point)

        def to_json(self, value: t.Any) -> t.Any:
            return self.serializer.tag(value.coords)

        def to_python(self, value: t.Any) -> t.Any:
            return Point(value)

    serializer.register(TagPoint)

    restored = serializer.loads(serializer.dumps({"where": Point((1, 2))}))

    assert restored["where"].coords == (1, 2)


def test_base_tag_methods_must_be_overridden() -> None:
    tag = JSONTag(None)  # type: ignore[arg-type]

    with pytest.raises(NotImplementedError):
        tag.check(1)
    with pytest.raises(NotImplementedError):
        tag.to_json(1)
    with pytest.raises(NotImplementedError):
        tag.to_python(1)


def test_serializers_do_not_share_registered_tags() -> None:
    class Extra(JSONTag):
        key = " x"

    first = TaggedJSONSerializer()
    first.register(Extra)

    assert " x" not in TaggedJSONSerializer().tags


def test_a_custom_tag_can_claim_plain_strings(serializer: TaggedJSONSerializer) -> None:
    class Secret(str):
        pass

    class TagSecretPrefix(JSONTag):
        __slots__ = ()
        key = " s"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, str) and value.startswith("secret:")

        def to_json(self, value: t.Any) -> t.Any:
            return value[::-1]

        def to_python(self, value: t.Any) -> t.Any:
            return Secret(value[::-1])

    serializer.register(TagSecretPrefix, index=0)

    dumped = serializer.dumps({"a": ["secret:x", "plain"]})
    restored = serializer.loads(dumped)

    assert "x:terces" in dumped
    assert restored == {"a": ["secret:x", "plain"]}
    assert type(restored["a"][0]) is Secret
    assert type(restored["a"][1]) is str


def test_tags_added_to_order_directly_are_honoured(serializer: TaggedJSONSerializer) -> None:
    class TagNegative(JSONTag):
        __slots__ = ()
        key = " n"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, int) and value < 0

        def to_json(self, value: t.Any) -> t.Any:
            return -value

        def to_python(self, value: t.Any) -> t.Any:
            return -value

    tag = TagNegative(serializer)
    serializer.order.insert(0, tag)
    serializer.tags[tag.key] = tag

    assert serializer.dumps([-1, 2]) == '[{" n":1},2]'
    assert serializer.loads('[{" n":1},2]') == [-1, 2]


def test_a_tag_removed_from_order_no_longer_applies(serializer: TaggedJSONSerializer) -> None:
    serializer.order[:] = [tag for tag in serializer.order if tag.key != " t"]

    assert serializer.dumps({"a": (1, 2)}) == '{"a":[1,2]}'
