"""A sample REST API over an in-memory store: the subject of the REST extension's tests.

Models live at module level so the resources' annotations resolve.
"""

from __future__ import annotations

import threading

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

import erlen
from erlen.ext.rest import Api
from erlen.ext.rest import Page
from erlen.ext.rest import PageParams
from erlen.ext.rest import paginate_list
from erlen.ext.rest import Resource
from erlen.ext.rest import response

Name = Field(min_length=1, max_length=100, description="What the thing is called.")


class ThingIn(BaseModel):
    """A thing to create or replace."""

    model_config = ConfigDict(extra="forbid")

    name: str = Name
    quantity: int = Field(default=0, ge=0, le=1_000_000, description="How many there are.")
    tags: list[str] = Field(default_factory=list, max_length=10)


class ThingPatch(BaseModel):
    """Fields to change; the ones left out keep their values."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    quantity: int | None = Field(default=None, ge=0, le=1_000_000)


class ThingOut(BaseModel):
    """A stored thing."""

    id: int
    name: str
    quantity: int
    tags: list[str]


class ThingQuery(PageParams):
    """Paging, plus an optional name filter."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None, max_length=100, description="Only names containing this."
    )


class Store:
    """Things by id; thread-safe because the dev server may be threaded."""

    def __init__(self) -> None:
        self._things: dict[int, ThingOut] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    def list(self, name: str | None = None) -> list[ThingOut]:
        with self._lock:
            things = list(self._things.values())
        if name:
            things = [thing for thing in things if name in thing.name]
        return things

    def add(self, data: ThingIn) -> ThingOut:
        with self._lock:
            thing = ThingOut(id=self._next_id, **data.model_dump())
            self._things[thing.id] = thing
            self._next_id += 1
        return thing

    def get_or_404(self, id: int) -> ThingOut:
        thing = self._things.get(id)
        if thing is None:
            erlen.abort(404, f"Thing {id} does not exist.")
        return thing

    def replace(self, id: int, thing: ThingOut) -> ThingOut:
        self._things[id] = thing
        return thing

    def delete(self, id: int) -> None:
        self.get_or_404(id)
        del self._things[id]


class ThingList(Resource):
    """The collection of things."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, params: ThingQuery) -> Page[ThingOut]:
        """List things, a page at a time.

        Newest last; filter with ``name``.
        """
        return paginate_list(self.store.list(params.name), params)

    @response(ThingOut, status=201, description="The new thing.")
    def post(self, data: ThingIn) -> ThingOut:
        """Create a thing."""
        return self.store.add(data)


class ThingItem(Resource):
    """One thing, by id."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, id: int) -> ThingOut:
        """Fetch a thing."""
        return self.store.get_or_404(id)

    def put(self, id: int, data: ThingIn) -> ThingOut:
        """Replace a thing."""
        self.store.get_or_404(id)
        return self.store.replace(id, ThingOut(id=id, **data.model_dump()))

    def patch(self, id: int, data: ThingPatch) -> ThingOut:
        """Change some fields of a thing."""
        thing = self.store.get_or_404(id)
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        return self.store.replace(id, thing.model_copy(update=changes))

    @response(None, status=204)
    def delete(self, id: int) -> None:
        """Delete a thing."""
        self.store.delete(id)


def create_app(store: Store | None = None) -> erlen.Erlen:
    """The sample app: the things API under ``/api``, and one HTML page outside it."""
    app = erlen.Erlen(__name__)
    store = store if store is not None else Store()
    api = Api(title="Things", version="1.0.0", description="A sample API.")
    api.add_resource(ThingList, "/things", resource_class_kwargs={"store": store})
    api.add_resource(ThingItem, "/things/<int:id>", resource_class_kwargs={"store": store})
    api.init_app(app)

    @app.route("/")
    def index() -> str:
        return "<h1>Home</h1>"

    return app
