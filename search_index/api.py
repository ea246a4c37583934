"""GET /api/v1/search."""

from django.http import HttpRequest, JsonResponse
from ninja import Query, Router
from ninja.errors import HttpError, Throttled

from accounts.auth import CATALOG_READ
from core.errors import DomainError, error_responses
from search_index import services
from search_index.schemas import SearchOut, SearchQuery
from search_index.throttle import search_wait

router = Router(tags=["search"])

#: Seconds a client is asked to wait after a search ran out of time.
TIMEOUT_RETRY_AFTER = 10


@router.get(
    "/search",
    response={200: SearchOut, **error_responses(400, 401, 422, 429, 503)},
    auth=CATALOG_READ,
    summary="全文检索图书与调研成果",
    by_alias=True,
)
def search(request: HttpRequest, params: Query[SearchQuery]):
    wait = search_wait(request, user=request.auth)
    if wait:
        raise Throttled(wait=wait)
    filters = services.Filters(
        type=params.type,
        language=params.language,
        year_from=params.year_from,
        year_to=params.year_to,
        clc=params.clc,
        available=params.available,
        article=params.article,
        include_internal=request.auth.is_authenticated,
    )
    try:
        result = services.search(params.q, filters=filters, sort=params.sort, limit=params.limit, offset=params.offset,
                                 as_typed=params.as_typed)
    except services.QueryTooComplex as exc:
        raise DomainError("bad_request", str(exc), status=400, field="q", limit=exc.limit) from None
    except services.QueryError as exc:
        raise HttpError(400, str(exc)) from None
    except services.SearchTimeout as exc:
        # The API's error shape, plus Retry-After (the error handlers set no headers of a DomainError).
        response = JsonResponse({"detail": str(exc), "code": "unavailable"}, status=503,
                                json_dumps_params={"ensure_ascii": False})
        response["Retry-After"] = str(TIMEOUT_RETRY_AFTER)
        return response
    except services.SearchUnavailable as exc:
        raise HttpError(503, str(exc)) from None
    return result
