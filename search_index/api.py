"""GET /api/v1/search."""

from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError

from accounts.auth import CATALOG_READ
from search_index import services
from search_index.schemas import SearchOut, SearchQuery

router = Router(tags=["search"])


@router.get(
    "/search",
    response={200: SearchOut, 400: dict, 401: dict, 422: dict, 503: dict},
    auth=CATALOG_READ,
    summary="全文检索图书与调研成果",
)
def search(request: HttpRequest, params: Query[SearchQuery]):
    filters = services.Filters(
        type=params.type,
        language=params.language,
        year_from=params.year_from,
        year_to=params.year_to,
        clc=params.clc,
        available=params.available,
        include_internal=request.auth.is_authenticated,
    )
    try:
        result = services.search(params.q, filters=filters, sort=params.sort, limit=params.limit, offset=params.offset)
    except services.QueryError as exc:
        raise HttpError(400, str(exc)) from None
    except services.SearchUnavailable as exc:
        raise HttpError(503, str(exc)) from None
    return result
