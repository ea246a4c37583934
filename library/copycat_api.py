"""Copy cataloguing API: SRU targets (librarians), searching one and importing a candidate record."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from accounts.auth import LOGGED_IN, require_role
from accounts.models import Role
from core.errors import ERRORS, ForbiddenField, InvalidInput
from core.pagination import Pagination
from library import copycat
from library.models import SruTarget
from library.schemas import (
    CandidatePageOut,
    CopyImportIn,
    CopyImportOut,
    SruSearchFilters,
    SruTargetIn,
    SruTargetOut,
    SruTargetPatch,
)

router = Router(tags=["copy cataloguing"])


def _target(request: HttpRequest, target_id: int) -> SruTarget:
    require_role(request, Role.LIBRARIAN)
    target = copycat.sru_target_get(target_id=target_id)
    if target is None:
        raise HttpError(404, _("检索目标 %(id)s 不存在") % {"id": target_id})
    return target


def _network_rights(request: HttpRequest, *, changes: dict, target: SruTarget | None = None) -> None:
    """Only a superuser marks a target as on the court's network or clears the mark, and only a superuser moves
    a marked target elsewhere (the mark lets requests reach private addresses): 403 naming the field."""
    if request.auth.is_superuser:
        return
    marked = target.internal_network if target is not None else False
    if "internal_network" in changes and bool(changes["internal_network"]) != marked:
        raise ForbiddenField("internal_network", _("只有超级管理员可以设置或取消“位于法院内网”（internal_network）"),
                             code="superuser_only")
    if marked and "base_url" in changes and changes["base_url"] != target.base_url:
        raise ForbiddenField("base_url", _("此检索目标位于法院内网：只有超级管理员可以修改它的服务地址（base_url）"),
                             code="superuser_only")


@router.get("/sru-targets", response={200: list[SruTargetOut], **ERRORS}, auth=LOGGED_IN,
            summary="SRU 检索目标列表（馆员）")
@paginate(Pagination)
def list_targets(request: HttpRequest):
    require_role(request, Role.LIBRARIAN)
    return copycat.sru_target_list()


@router.post("/sru-targets", response={201: SruTargetOut, **ERRORS}, auth=LOGGED_IN, summary="新增 SRU 检索目标（馆员）",
             description="internal_network（位于法院内网）只有超级管理员可以设为 true，且服务地址的主机:端口须列在设置 "
                         "SRU_INTERNAL_HOSTS 中；馆员设置时返回 403（code superuser_only，detail 指明字段）。")
def create_target(request: HttpRequest, payload: SruTargetIn):
    require_role(request, Role.LIBRARIAN)
    fields = payload.model_dump()
    _network_rights(request, changes=fields)
    return Status(201, copycat.sru_target_create(**fields))


@router.patch("/sru-targets/{target_id}", response={200: SruTargetOut, **ERRORS}, auth=LOGGED_IN,
              summary="修改 SRU 检索目标（馆员）",
              description="只有超级管理员可以改变 internal_network，或修改位于法院内网的目标的 base_url（否则 403）。")
def update_target(request: HttpRequest, target_id: int, payload: SruTargetPatch):
    target = _target(request, target_id)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    _network_rights(request, changes=changes, target=target)
    return copycat.sru_target_update(target=target, changes=changes)


@router.delete("/sru-targets/{target_id}", response={204: None, **ERRORS}, auth=LOGGED_IN,
               summary="删除 SRU 检索目标（馆员）")
def delete_target(request: HttpRequest, target_id: int):
    copycat.sru_target_delete(target=_target(request, target_id))
    return Status(204, None)


@router.get("/sru-targets/{target_id}/search", response={200: CandidatePageOut, **ERRORS}, auth=LOGGED_IN,
            summary="在 SRU 检索目标中检索（馆员）",
            description="按 isbn、title 或 author 之一检索（只给一个）。对方服务器出错、超时或回答过大时返回 409，"
                        "detail 说明原因（code 为 sru_timeout、sru_diagnostic 等）。")
def search_target(request: HttpRequest, target_id: int, filters: Query[SruSearchFilters]):
    target = _target(request, target_id)
    given = [(by, getattr(filters, by)) for by in ("isbn", "title", "author") if getattr(filters, by)]
    if len(given) != 1:
        raise InvalidInput("isbn", _("请只给出 isbn、title、author 中的一个"))
    by, term = given[0]
    found = copycat.copycat_search(target=target, by=by, term=term, page=filters.page)
    return {
        "target": target.pk, "query_by": by, "query": found.term, "page": found.page, "pages": found.pages,
        "total": found.total,
        "candidates": [{
            "position": c.position, "fields": c.fields or None, "control_number": c.control_number,
            "token": c.token, "digest": c.digest, "local_book_id": c.local.pk if c.local else None,
            "differences": copycat.differences(c.fields, c.local_fields, c.differences),
            "suggested_call_number": c.call_number, "problem": c.problem,
        } for c in found.candidates],
    }


@router.post("/sru-targets/{target_id}/import", response={200: CopyImportOut, **ERRORS}, auth=LOGGED_IN,
             summary="导入一条候选记录（馆员）",
             description="token 来自检索结果（服务器签名，24 小时内有效）；按导入的匹配规则新建、补充或不变，"
                         "冲突时不写入并列出两边的值和本馆图书的 fingerprint；带 on_conflict（keep、replace、new）"
                         "再次提交即按所选决定写入（keep、replace 须附 fingerprint；其间本馆图书已变时 409 book_changed）。")
def import_candidate(request: HttpRequest, target_id: int, payload: CopyImportIn):
    target = _target(request, target_id)
    result = copycat.copycat_import(target=target, token=payload.token, on_conflict=payload.on_conflict or "",
                                    fingerprint=payload.fingerprint or "")
    return {"outcome": result.outcome, "book_id": result.book.pk if result.book else None,
            "reason": result.reason, "conflicts": result.conflicts, "fingerprint": result.fingerprint}
