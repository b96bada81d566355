"""Typed REST resources with pydantic validation, problem-details errors and OpenAPI 3.1.

.. code-block:: python

    from erlen.ext.rest import Api, Resource, response

    api = Api(title="Things", version="1.0")

    @api.resource("/things")
    class ThingList(Resource):
        def get(self, params: PageParams) -> Page[ThingOut]:
            return paginate_list(store.all(), params)

        @response(ThingOut, status=201)
        def post(self, data: ThingIn) -> ThingOut:
            return store.add(data)

    api.init_app(app)

Resources live under ``/api``; ``/api/openapi.json`` describes them and ``/api/docs`` renders
that description. Needs the ``rest`` extra (pydantic 2). See ``docs/ext/rest.md``.
"""

from __future__ import annotations

from .api import Api as Api
from .pagination import Page as Page
from .pagination import PageLinks as PageLinks
from .pagination import PageParams as PageParams
from .pagination import paginate_list as paginate_list
from .problems import FieldError as FieldError
from .problems import Problem as Problem
from .problems import PROBLEM_MIMETYPE as PROBLEM_MIMETYPE
from .problems import problem_response as problem_response
from .problems import RequestValidationError as RequestValidationError
from .problems import ValidationProblem as ValidationProblem
from .resource import Resource as Resource
from .validation import body as body
from .validation import error_responses as error_responses
from .validation import query as query
from .validation import response as response
