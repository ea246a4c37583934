"""Circulation services: borrowing, renewing, returning, holds and their expiry.

Correct under concurrency by construction, not by luck:

* every function is one short transaction.  On SQLite each transaction starts with ``BEGIN
  IMMEDIATE`` (settings), so writers run one at a time; on PostgreSQL the rows a decision depends
  on are locked with ``SELECT … FOR UPDATE`` in one fixed order — the patron's user row, then the
  book, then the copy or loan — so two requests about the same patron or book queue up instead of
  both deciding on the same snapshot (and never deadlock);
* status changes are conditional updates that must touch exactly one row
  (``UPDATE copy SET status='on_loan' WHERE id=… AND status='available'``);
* the invariants are also partial unique indexes in the database: one active loan per copy, one
  active loan per patron and book, one open hold per patron and book, one ready hold per copy.
  A write that slips past the checks fails on the index and is answered as the conflict it is.

Refusals raise :class:`core.errors.DomainError` with a stable ``code`` (409 by default).
Every action writes a :class:`CirculationEvent` (who, for whom, when, channel) and queues the book
for re-indexing (availability, earliest due date and queue length are in the search index).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.selectors import user_has_role
from core import ratelimit
from core.errors import DomainError, InvalidInput
from library import notices
from library.models import Book, Channel, CirculationEvent, Copy, Hold, Loan, Location, Transfer
from library.policy import due_date_after, library_today, pickup_deadline, policy_for
from library.signals import circulation_changed

# --- locking and bookkeeping ----------------------------------------------------------------------


def _lock_patron(patron: AbstractBaseUser) -> None:
    list(get_user_model().objects.select_for_update().filter(pk=patron.pk).values_list("pk", flat=True))


def _lock_book(book_id: int) -> None:
    if not Book.objects.select_for_update().filter(pk=book_id).exists():
        raise DomainError("book_not_found", _("图书 %(id)s 不存在") % {"id": book_id}, status=404)


def _lock_with_book(model: type[Loan] | type[Hold], pk: int, book_id: int, *related: str):
    """Lock a loan or hold after its book (the book's row lock orders every change to its copies and queue)
    and read it again as it is now."""
    _lock_book(book_id)
    rows = model.objects.select_for_update()
    # Never select_related() without names: that joins (and on PostgreSQL locks) every non-null relation.
    return (rows.select_related(*related) if related else rows).get(pk=pk)


def _take_hold_quota(patron: AbstractBaseUser, actor: AbstractBaseUser | None) -> None:
    """A reader places at most ``HOLDS_PLACED_PER_HOUR`` holds in a rolling hour (cancelled ones included; a
    librarian placing one at the desk is not counted).  One judge placed and cancelled 147 holds in 15 s: each
    a queue change, two audit rows, a re-index of the book."""
    if actor is not None and actor.pk != patron.pk and (
            getattr(actor, "is_superuser", False) or user_has_role(actor, Role.LIBRARIAN)):
        return
    limit = ratelimit.Limit(settings.HOLDS_PLACED_PER_HOUR, 3600, buckets=12)
    wait = ratelimit.take(f"holds-placed:user:{patron.pk}", limit)
    if wait:
        raise DomainError("too_many_holds_placed",
                          _("一小时内最多预约 %(limit)d 次，请 %(minutes)d 分钟后再试")
                          % {"limit": limit.limit, "minutes": (wait + 59) // 60},
                          status=429, retry_after=wait)


def _skip_locked() -> dict:
    return {"skip_locked": True} if connection.features.has_select_for_update_skip_locked else {}


def audit(action: str, *, at: datetime, actor, patron, book_id, channel: str, copy_id=None, loan=None, hold=None,
           **detail) -> None:
    CirculationEvent.objects.create(
        action=action,
        at=at,
        actor=actor if getattr(actor, "pk", None) else None,
        patron=patron,
        book_id=book_id,
        copy_id=copy_id,
        loan=loan,
        hold=hold,
        channel=channel,
        detail=detail,
    )


def _reindex(book_id: int) -> None:
    """The book's availability changed (by conditional UPDATEs, which send no model signals): tell the
    listeners — the search index re-indexes the book, the calendar feeds refresh due dates."""
    circulation_changed.send(sender=Loan, book_id=book_id)


def _set_copy_status(copy_id: int, *, expected: str, new: str, at: datetime, **fields) -> bool:
    """Move a copy from ``expected`` to ``new``; False when someone else moved it first."""
    return Copy.objects.filter(pk=copy_id, status=expected).update(status=new, updated_at=at, **fields) == 1


def _away(copy: Copy, place: str) -> str:
    """``Copy.at_location`` for a copy that is at ``place``: blank at its own location."""
    return "" if place == copy.location else place


# --- where a copy goes ------------------------------------------------------------------------------------


@dataclass
class Routing:
    """Where a copy that passed through someone's hands goes next: the hold shelf of ``hold`` (ready), the
    van (``transfer``), the pull list (``hold`` pulling: set aside on its shelf), or its shelf (neither)."""

    copy: Copy
    hold: Hold | None = None
    transfer: Transfer | None = None


def _first_waiting(book_id: int) -> Hold | None:
    return (Hold.objects.select_for_update().filter(book_id=book_id, status=Hold.Status.WAITING)
            .select_related("patron", "pickup_location").order_by("created_at", "id").first())


def _queue_transfer(copy: Copy, *, from_status: str, here: str, to: str, reason: str, hold: Hold | None,
                    now: datetime, actor, channel: str) -> Transfer:
    if not _set_copy_status(copy.pk, expected=from_status, new=Copy.Status.IN_TRANSIT, at=now,
                            at_location=_away(copy, here)):
        raise DomainError("copy_changed", _("复本 %(barcode)s 的状态刚刚改变，请重试") % {"barcode": copy.barcode})
    transfer = Transfer.objects.create(copy=copy, from_location=here, to_location=to, reason=reason, hold=hold,
                                       created_at=now)
    audit(CirculationEvent.Action.TRANSFER_QUEUED, at=now, actor=actor, patron=hold.patron if hold else None,
           book_id=copy.book_id, copy_id=copy.pk, hold=hold, channel=channel, transfer=transfer.pk,
           from_location=here, to_location=to, reason=reason)
    return transfer


def _to_hold_shelf(hold: Hold, copy: Copy, *, from_status: str, here: str, now: datetime, actor,
                   channel: str) -> None:
    if not _set_copy_status(copy.pk, expected=from_status, new=Copy.Status.ON_HOLD_SHELF, at=now,
                            at_location=_away(copy, here)):
        raise DomainError("copy_changed", _("复本 %(barcode)s 的状态刚刚改变，请重试") % {"barcode": copy.barcode})
    policy = policy_for(hold.patron, copy.location)
    hold.status, hold.copy, hold.ready_at = Hold.Status.READY, copy, now
    hold.pickup_by = pickup_deadline(library_today(now), policy.pickup_days, hold.pickup_location)
    hold.save(update_fields=["status", "copy", "ready_at", "pickup_by"])
    audit(CirculationEvent.Action.HOLD_READY, at=now, actor=actor, patron=hold.patron, book_id=copy.book_id,
           copy_id=copy.pk, hold=hold, channel=channel, pickup_by=str(hold.pickup_by),
           pickup_location=hold.pickup_location.name)
    notices.hold_ready(hold)


def _trap(hold: Hold, copy: Copy, *, from_status: str, here: str, now: datetime, actor, channel: str) -> Routing:
    """The copy is in a librarian's hands at ``here`` for ``hold``: onto the hold shelf when the reader picks
    up here, else into the van to the pickup location."""
    pickup = hold.pickup_location.name
    if pickup == here:
        _to_hold_shelf(hold, copy, from_status=from_status, here=here, now=now, actor=actor, channel=channel)
        return Routing(copy, hold=hold)
    transfer = _queue_transfer(copy, from_status=from_status, here=here, to=pickup, reason=Transfer.Reason.HOLD,
                               hold=hold, now=now, actor=actor, channel=channel)
    hold.status, hold.copy = Hold.Status.IN_TRANSIT, copy
    hold.save(update_fields=["status", "copy"])
    return Routing(copy, hold=hold, transfer=transfer)


def _set_aside(hold: Hold, copy: Copy, *, from_status: str, now: datetime, actor, channel: str) -> bool:
    """Put a copy that stands on its shelf on the pull list for ``hold``; False when it was taken meanwhile."""
    if not _set_copy_status(copy.pk, expected=from_status, new=Copy.Status.ON_PULL_LIST, at=now):
        return False
    hold.status, hold.copy = Hold.Status.PULLING, copy
    hold.save(update_fields=["status", "copy"])
    audit(CirculationEvent.Action.HOLD_PULL, at=now, actor=actor, patron=hold.patron, book_id=copy.book_id,
           copy_id=copy.pk, hold=hold, channel=channel, location=copy.here)
    return True


def _available_copy(book_id: int, *, prefer: str, exclude: int | None = None) -> Copy | None:
    """An available copy of a book, one at ``prefer`` (the pickup location) first."""
    rows = (Copy.objects.select_for_update(**_skip_locked())
            .filter(book_id=book_id, status=Copy.Status.AVAILABLE).exclude(pk=exclude))
    return rows.filter(location=prefer, at_location="").order_by("id").first() or rows.order_by("id").first()


def _serve(copy: Copy, *, from_status: str, in_hand: bool, here: str, now: datetime, actor,
           channel: str) -> Routing:
    """A copy comes free at ``here``: the first reader in the queue gets it (hold shelf or van when it is in
    a librarian's hands, the pull list when it still stands on its shelf); else it goes home by van, or back
    on its shelf."""
    hold = _first_waiting(copy.book_id)
    if hold is not None:
        if in_hand:
            return _trap(hold, copy, from_status=from_status, here=here, now=now, actor=actor, channel=channel)
        if _set_aside(hold, copy, from_status=from_status, now=now, actor=actor, channel=channel):
            return Routing(copy, hold=hold)
        return Routing(copy)
    if in_hand and here != copy.location and settings.RETURN_TO_HOME:
        transfer = _queue_transfer(copy, from_status=from_status, here=here, to=copy.location,
                                   reason=Transfer.Reason.HOME, hold=None, now=now, actor=actor, channel=channel)
        return Routing(copy, transfer=transfer)
    _set_copy_status(copy.pk, expected=from_status, new=Copy.Status.AVAILABLE, at=now,
                     at_location=_away(copy, here))
    return Routing(copy)


def _release(hold: Hold, copy_id: int, *, now: datetime, actor, channel: str) -> Routing | None:
    """``hold`` no longer wants the copy set aside for it (cancelled, expired, or fulfilled by another copy):
    the copy goes on to the queue or back.  A copy in the van travels on; its receipt routes it."""
    copy = Copy.objects.select_for_update().get(pk=copy_id)
    if copy.status == Copy.Status.ON_PULL_LIST:
        return _serve(copy, from_status=copy.status, in_hand=False, here=copy.here, now=now, actor=actor,
                      channel=channel)
    if copy.status == Copy.Status.ON_HOLD_SHELF:
        return _serve(copy, from_status=copy.status, in_hand=True, here=copy.here, now=now, actor=actor,
                      channel=channel)
    return None


# --- borrowing -----------------------------------------------------------------------------------


def loan_checkout(
    *,
    patron: AbstractBaseUser,
    actor: AbstractBaseUser | None,
    book: Book | None = None,
    copy: Copy | None = None,
    channel: str = Channel.API,
    now: datetime | None = None,
) -> Loan:
    """Lend ``copy`` (scanned at the desk or by the reader's phone) or, for ``book``, the copy set aside for
    the patron or any available one (a service for the desk's tools and the demo; readers scan a copy).

    Refusals: ``already_borrowed``, ``overdue_block``, ``loan_limit``, ``reserved`` (the copy is set aside
    for someone else and no other copy can take its place), ``in_transit``, ``not_available`` (with
    ``can_hold``).  Borrowing a copy set aside for the patron fulfils their hold; so does borrowing another
    copy of that book (the set-aside copy then goes to the next in line).  A copy on the pull list for another
    reader may be borrowed when another copy on a shelf can be set aside for them instead.
    """
    if (book is None) == (copy is None):
        raise ValueError("give a book or a copy")
    now = now or timezone.now()
    today = library_today(now)
    book_id = book.pk if book is not None else copy.book_id
    with transaction.atomic():
        _lock_patron(patron)
        _lock_book(book_id)
        active = Loan.objects.filter(patron=patron, status=Loan.Status.ACTIVE)
        if active.filter(book_id=book_id).exists():
            raise DomainError("already_borrowed", _("您已借阅本书"))
        if active.filter(due_date__lt=today).exists():
            raise DomainError("overdue_block", _("您有逾期未还的图书，请先归还"))
        limits = policy_for(patron)
        if active.count() >= limits.max_loans:
            raise DomainError(
                "loan_limit", _("已达借阅上限 %(limit)s 册") % {"limit": limits.max_loans}, limit=limits.max_loans
            )
        own_hold = (
            Hold.objects.select_for_update()
            .filter(book_id=book_id, patron=patron, status__in=Hold.OPEN)
            .order_by("created_at", "id")
            .first()
        )
        chosen = _choose_copy(book_id=book_id, copy=copy, own_hold=own_hold, now=now, actor=actor, channel=channel)
        if not _set_copy_status(chosen.pk, expected=chosen.status, new=Copy.Status.ON_LOAN, at=now):
            raise _not_available(book_id)
        policy = policy_for(patron, chosen.location)
        try:
            with transaction.atomic():
                loan = Loan.objects.create(
                    copy_id=chosen.pk,
                    book_id=book_id,
                    patron=patron,
                    borrowed_at=now,
                    due_date=due_date_after(today, policy.loan_days),
                    channel=channel,
                )
        except IntegrityError:
            # Another transaction lent this copy or this book to the patron between our checks and
            # the insert (possible only where locks are not taken): the database said no.
            raise _not_available(book_id) from None
        audit(CirculationEvent.Action.CHECKOUT, at=now, actor=actor, patron=patron,
               book_id=book_id, copy_id=chosen.pk, loan=loan, channel=channel, due_date=str(loan.due_date))
        if own_hold is not None:
            set_aside = own_hold.copy_id if own_hold.status in Hold.TRAPPED and own_hold.copy_id != chosen.pk else None
            Hold.objects.filter(pk=own_hold.pk).update(status=Hold.Status.FULFILLED, closed_at=now)
            audit(CirculationEvent.Action.HOLD_FULFILLED, at=now, actor=actor, patron=patron, book_id=book_id,
                   copy_id=chosen.pk, loan=loan, hold=own_hold, channel=channel)
            if set_aside is not None:
                # The patron took another copy: the one set aside for them goes to the next in line.
                _release(own_hold, set_aside, now=now, actor=actor, channel=channel)
        _reindex(book_id)
    return loan


def _choose_copy(*, book_id: int, copy: Copy | None, own_hold: Hold | None, now: datetime, actor,
                 channel: str) -> Copy:
    mine = own_hold.copy_id if own_hold is not None and own_hold.status in Hold.TRAPPED else None
    if copy is None:  # by book: the copy set aside for the patron, else one on a shelf
        if mine is not None and own_hold.status != Hold.Status.IN_TRANSIT:
            return Copy.objects.select_for_update().get(pk=mine)
        candidate = _available_copy(book_id, prefer="")
        if candidate is None:
            raise _not_available(book_id)
        return candidate
    current = Copy.objects.select_for_update().get(pk=copy.pk)
    if current.pk == mine and current.status in (Copy.Status.ON_HOLD_SHELF, Copy.Status.ON_PULL_LIST):
        return current
    if current.status == Copy.Status.ON_PULL_LIST:
        _give_way(current, now=now, actor=actor, channel=channel)
        return current
    if current.status == Copy.Status.ON_HOLD_SHELF:
        raise DomainError("reserved", _("该复本已为其他读者预约保留"))
    if current.status == Copy.Status.IN_TRANSIT:
        raise DomainError("in_transit", _("该复本在途，请先在服务台签收"))
    if current.status != Copy.Status.AVAILABLE:
        raise DomainError(
            "not_available", _("该复本当前不可借（%(status)s）") % {"status": current.get_status_display()},
            status_of_copy=current.status, can_hold=current.status in HOLDABLE,
        )
    return current


def _give_way(copy: Copy, *, now: datetime, actor, channel: str) -> None:
    """``copy`` stands on the pull list for someone else and a reader has it in hand: set another copy on a
    shelf aside for that hold instead, or refuse (``reserved``)."""
    hold = Hold.objects.select_for_update().get(copy=copy, status=Hold.Status.PULLING)
    other = _available_copy(copy.book_id, prefer=hold.pickup_location.name, exclude=copy.pk)
    if other is None or not _set_copy_status(other.pk, expected=Copy.Status.AVAILABLE,
                                             new=Copy.Status.ON_PULL_LIST, at=now):
        raise DomainError("reserved", _("该复本已为其他读者预约，正在备书"))
    Hold.objects.filter(pk=hold.pk).update(copy=other)
    audit(CirculationEvent.Action.HOLD_PULL, at=now, actor=actor, patron=hold.patron, book_id=copy.book_id,
           copy_id=other.pk, hold=hold, channel=channel, location=other.here, instead_of=copy.barcode)


def _not_available(book_id: int) -> DomainError:
    return DomainError("not_available", _("本书暂无可借复本，可以预约"), can_hold=True)


def loan_renew(*, loan: Loan, actor: AbstractBaseUser | None, channel: str = Channel.API,
               now: datetime | None = None) -> Loan:
    """Extend a loan by the renewal period from its due date.  Refusals: ``renewal_limit``,
    ``holds_waiting``, ``overdue``, ``loan_closed``."""
    now = now or timezone.now()
    today = library_today(now)
    with transaction.atomic():
        _lock_patron(loan.patron)
        current = _lock_with_book(Loan, loan.pk, loan.book_id, "copy")
        if current.status != Loan.Status.ACTIVE:
            raise DomainError("loan_closed", _("该借阅已归还"))
        if current.due_date < today:
            raise DomainError("overdue", _("已逾期的借阅不能续借，请归还"))
        policy = policy_for(current.patron, current.copy.location)
        if current.renewals >= policy.max_renewals:
            raise DomainError("renewal_limit", _("已续借 %(n)s 次，达到上限") % {"n": current.renewals},
                              limit=policy.max_renewals)
        if Hold.objects.filter(book_id=current.book_id, status=Hold.Status.WAITING).exists():
            raise DomainError("holds_waiting", _("有读者在排队预约本书，不能续借"))
        new_due = due_date_after(max(current.due_date, today), policy.renewal_days)
        updated = Loan.objects.filter(pk=current.pk, status=Loan.Status.ACTIVE, renewals=current.renewals).update(
            due_date=new_due, renewals=current.renewals + 1
        )
        if updated != 1:  # pragma: no cover - excluded by the row lock
            raise DomainError("loan_closed", _("该借阅已变更，请重试"))
        audit(CirculationEvent.Action.RENEW, at=now, actor=actor, patron=current.patron, book_id=current.book_id,
               copy_id=current.copy_id, loan=current, channel=channel, old_due_date=str(current.due_date),
               due_date=str(new_due))
        _reindex(current.book_id)
        current.refresh_from_db()
    return current


# --- returning and checking in ---------------------------------------------------------------------


@dataclass
class ReturnResult:
    loan: Loan
    routing: Routing

    @property
    def hold(self) -> Hold | None:
        """The hold the copy now waits for on the hold shelf here, if any."""
        hold = self.routing.hold
        return hold if hold is not None and hold.status == Hold.Status.READY else None


def loan_return(*, loan: Loan, actor: AbstractBaseUser | None, channel: str = Channel.API,
                at: str | None = None, now: datetime | None = None) -> ReturnResult:
    """Close a loan; the copy is in hand at ``at`` (default: where it was lent).  It goes to the first
    waiting hold (hold shelf here, or the van to the reader's pickup location), home by van, or to its
    shelf."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_with_book(Loan, loan.pk, loan.book_id)
        if current.status != Loan.Status.ACTIVE:
            raise DomainError("loan_closed", _("该借阅已归还"))
        Loan.objects.filter(pk=current.pk, status=Loan.Status.ACTIVE).update(
            status=Loan.Status.RETURNED, returned_at=now
        )
        current.refresh_from_db()
        copy = Copy.objects.select_for_update().get(pk=current.copy_id)
        here = at or copy.here
        audit(CirculationEvent.Action.RETURN, at=now, actor=actor, patron=current.patron, book_id=current.book_id,
               copy_id=current.copy_id, loan=current, channel=channel, location=here,
               overdue_days=max(0, (library_today(now) - current.due_date).days))
        routing = _serve(copy, from_status=Copy.Status.ON_LOAN, in_hand=True, here=here, now=now, actor=actor,
                         channel=channel)
        _reindex(current.book_id)
    return ReturnResult(loan=current, routing=routing)


def active_loan_for_copy(copy: Copy) -> Loan | None:
    return Loan.objects.filter(copy=copy, status=Loan.Status.ACTIVE).select_related("patron", "book", "copy").first()


def copy_came_free(*, copy: Copy, from_status: str, actor, channel: str = Channel.ADMIN,
                   now: datetime | None = None) -> Hold | None:
    """A copy that was not lendable (repair, lost, not found) became available in a librarian's hands at its
    location: serve the queue first."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_book(copy.book_id)
        current = Copy.objects.select_for_update().get(pk=copy.pk)
        routing = _serve(current, from_status=from_status, in_hand=True, here=current.location, now=now,
                         actor=actor, channel=channel)
        _reindex(copy.book_id)
    return routing.hold


@dataclass
class CheckIn:
    """What scanning a copy at a desk did: ``returned`` (a loan), ``pulled`` (from the pull list), ``received``
    (off the van), ``found`` (a copy marked missing or lost); and where the copy goes now."""

    action: str
    routing: Routing
    loan: Loan | None = None
    transfer: Transfer | None = None


def check_in(*, copy: Copy, at: str, actor, channel: str = Channel.WEB, now: datetime | None = None) -> CheckIn:
    """One scan at the desk of location ``at`` does what the copy needs (Koha's check-in): end its loan, take
    it off the pull list, receive it off the van, or welcome it back when it was missing.

    Refusals: ``not_checked_out`` (the copy is on its shelf), ``not_here`` (it is in transit elsewhere),
    ``copy_unavailable`` (withdrawn, in repair)."""
    now = now or timezone.now()
    status = copy.status
    if status == Copy.Status.ON_LOAN:
        loan = active_loan_for_copy(copy)
        if loan is not None:
            result = loan_return(loan=loan, actor=actor, channel=channel, at=at, now=now)
            return CheckIn("returned", result.routing, loan=result.loan)
    elif status == Copy.Status.ON_PULL_LIST:
        hold = Hold.objects.filter(copy=copy, status=Hold.Status.PULLING).first()
        if hold is not None:
            return CheckIn("pulled", hold_pulled(hold=hold, actor=actor, channel=channel, at=at, now=now))
    elif status == Copy.Status.IN_TRANSIT:
        transfer = Transfer.objects.filter(copy=copy, status__in=Transfer.OPEN).first()
        if transfer is not None:
            if transfer.to_location != at:
                raise DomainError("not_here", _("复本 %(barcode)s 正发往 %(to)s，不在本馆签收") % {
                    "barcode": copy.barcode, "to": transfer.to_location}, to_location=transfer.to_location)
            routing = transfer_receive(transfer=transfer, actor=actor, channel=channel, now=now)
            return CheckIn("received", routing, transfer=transfer)
    elif status in (Copy.Status.MISSING, Copy.Status.LOST):
        with transaction.atomic():
            _lock_book(copy.book_id)
            current = Copy.objects.select_for_update().get(pk=copy.pk)
            if current.status != status:
                raise DomainError("copy_changed", _("复本 %(barcode)s 的状态刚刚改变，请重试") % {"barcode": copy.barcode})
            audit(CirculationEvent.Action.OVERRIDE, at=now, actor=actor, patron=None, book_id=copy.book_id,
                   copy_id=copy.pk, channel=channel, found=True, was=status, location=at)
            routing = _serve(current, from_status=status, in_hand=True, here=at, now=now, actor=actor,
                             channel=channel)
            _reindex(copy.book_id)
        return CheckIn("found", routing)
    elif status == Copy.Status.AVAILABLE:
        raise DomainError("not_checked_out", _("复本 %(barcode)s 在架，未借出") % {"barcode": copy.barcode})
    elif status == Copy.Status.ON_HOLD_SHELF:
        raise DomainError("on_hold_shelf", _("复本 %(barcode)s 在预约架上等读者取书") % {"barcode": copy.barcode})
    else:
        raise DomainError("copy_unavailable", _("复本 %(barcode)s 当前状态为 %(status)s，无需签收") % {
            "barcode": copy.barcode, "status": copy.get_status_display()})
    # The loan, hold or transfer behind the status closed a moment ago (another desk): read it again.
    raise DomainError("copy_changed", _("复本 %(barcode)s 的状态刚刚改变，请重试") % {"barcode": copy.barcode})


# --- holds -------------------------------------------------------------------------------------------


HOLDABLE = (Copy.Status.AVAILABLE, Copy.Status.ON_LOAN, Copy.Status.ON_PULL_LIST, Copy.Status.IN_TRANSIT,
            Copy.Status.ON_HOLD_SHELF, Copy.Status.REPAIR)


def hold_place(*, patron: AbstractBaseUser, book: Book, actor: AbstractBaseUser | None,
               pickup_location: Location | None = None, channel: str = Channel.API,
               now: datetime | None = None) -> Hold:
    """Request a book, to be picked up at ``pickup_location`` (default: the first pickup point).  A copy on a
    shelf is set aside at once (the pull list of its location, one at the pickup location first); otherwise
    the request joins the book's queue.  Refusals: ``already_borrowed``, ``hold_exists``, ``hold_limit``,
    ``not_holdable``, ``not_pickup_location``."""
    pickup = pickup_location or default_pickup_location()
    if pickup is None or not pickup.pickup:
        raise InvalidInput("pickup_location", _("%(name)s 不是取书地点") % {"name": pickup or "—"},
                           code="not_pickup_location")
    with transaction.atomic():
        _lock_patron(patron)
        _lock_book(book.pk)
        # The time is taken under the book's lock, so queue order is the order holds were committed.
        now = now or timezone.now()
        if Loan.objects.filter(patron=patron, book=book, status=Loan.Status.ACTIVE).exists():
            raise DomainError("already_borrowed", _("您已借阅本书"))
        if Hold.objects.filter(patron=patron, book=book, status__in=Hold.OPEN).exists():
            raise DomainError("hold_exists", _("您已预约本书"))
        if not Copy.objects.filter(book=book, status__in=HOLDABLE).exists():
            raise DomainError("not_holdable", _("本书没有可流通的复本"))
        limits = policy_for(patron)
        if Hold.objects.filter(patron=patron, status__in=Hold.OPEN).count() >= limits.max_holds:
            raise DomainError("hold_limit", _("已达预约上限 %(limit)s 个") % {"limit": limits.max_holds},
                              limit=limits.max_holds)
        _take_hold_quota(patron, actor)  # after the checks, so that a refusal costs nothing
        try:
            with transaction.atomic():
                hold = Hold.objects.create(book=book, patron=patron, created_at=now, channel=channel,
                                           pickup_location=pickup)
        except IntegrityError:
            raise DomainError("hold_exists", _("您已预约本书")) from None
        audit(CirculationEvent.Action.HOLD_PLACED, at=now, actor=actor, patron=patron, book_id=book.pk, hold=hold,
               channel=channel, pickup_location=pickup.name)
        copy = _available_copy(book.pk, prefer=pickup.name)
        if copy is not None:
            _set_aside(hold, copy, from_status=Copy.Status.AVAILABLE, now=now, actor=actor, channel=channel)
        _reindex(book.pk)
    return hold


def default_pickup_location() -> Location | None:
    return Location.objects.filter(pickup=True).order_by("position", "id").first()


def hold_cancel(*, hold: Hold, actor: AbstractBaseUser | None, channel: str = Channel.API,
                now: datetime | None = None) -> Hold:
    """Withdraw a request.  A copy set aside for it goes to the next in line or back to its shelf; one in the
    van travels on and is routed when it is received."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_with_book(Hold, hold.pk, hold.book_id)
        if current.status not in Hold.OPEN:
            raise DomainError("hold_closed", _("该预约已结束"))
        set_aside = current.copy_id if current.status in Hold.TRAPPED else None
        Hold.objects.filter(pk=current.pk).update(status=Hold.Status.CANCELLED, closed_at=now)
        current.refresh_from_db()
        audit(CirculationEvent.Action.HOLD_CANCELLED, at=now, actor=actor, patron=current.patron,
               book_id=current.book_id, copy_id=current.copy_id, hold=current, channel=channel)
        if set_aside is not None:
            _release(current, set_aside, now=now, actor=actor, channel=channel)
        _reindex(current.book_id)
    return current


def holds_expire(*, now: datetime | None = None, channel: str = Channel.COMMAND) -> int:
    """Expire ready holds whose pickup deadline has passed; each copy moves on to the next in line (or home).

    Safe to run any number of times (each hold is re-checked under its book's lock).
    """
    now = now or timezone.now()
    today = library_today(now)
    expired = 0
    due = Hold.objects.filter(status=Hold.Status.READY, pickup_by__lt=today).values_list("pk", "book_id")
    for hold_id, book_id in list(due):
        with transaction.atomic():
            current = _lock_with_book(Hold, hold_id, book_id, "patron", "book")
            if current.status != Hold.Status.READY or current.pickup_by >= today:
                continue
            Hold.objects.filter(pk=current.pk).update(status=Hold.Status.EXPIRED, closed_at=now)
            current.refresh_from_db()
            audit(CirculationEvent.Action.HOLD_EXPIRED, at=now, actor=None, patron=current.patron,
                   book_id=book_id, copy_id=current.copy_id, hold=current, channel=channel)
            notices.hold_expired(current)
            _release(current, current.copy_id, now=now, actor=None, channel=channel)
            _reindex(book_id)
            expired += 1
    return expired


# --- the pull list ----------------------------------------------------------------------------------------


def hold_pulled(*, hold: Hold, actor, channel: str = Channel.WEB, at: str | None = None,
                now: datetime | None = None) -> Routing:
    """A librarian at ``at`` (default: where the copy is kept) has the copy set aside for ``hold`` in hand:
    onto the hold shelf when the reader picks up there (the reader is told), else into the van from there.
    Refusal: ``not_on_pull_list``."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_with_book(Hold, hold.pk, hold.book_id, "patron", "pickup_location")
        if current.status != Hold.Status.PULLING:
            raise DomainError("not_on_pull_list", _("该预约不在取书单上"))
        copy = Copy.objects.select_for_update().get(pk=current.copy_id)
        here = at or copy.here
        audit(CirculationEvent.Action.HOLD_PULLED, at=now, actor=actor, patron=current.patron,
               book_id=current.book_id, copy_id=copy.pk, hold=current, channel=channel, location=here)
        routing = _trap(current, copy, from_status=Copy.Status.ON_PULL_LIST, here=here, now=now, actor=actor,
                        channel=channel)
        _reindex(current.book_id)
    return routing


def hold_not_found(*, hold: Hold, actor, channel: str = Channel.WEB, now: datetime | None = None) -> Hold:
    """The copy on the pull list is not on its shelf: it is marked missing and another copy on a shelf is set
    aside for the hold, or the hold goes back to its place in the queue.  Refusal: ``not_on_pull_list``."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_with_book(Hold, hold.pk, hold.book_id, "patron", "pickup_location")
        if current.status != Hold.Status.PULLING:
            raise DomainError("not_on_pull_list", _("该预约不在取书单上"))
        missing = Copy.objects.select_for_update().get(pk=current.copy_id)
        _set_copy_status(missing.pk, expected=Copy.Status.ON_PULL_LIST, new=Copy.Status.MISSING, at=now)
        audit(CirculationEvent.Action.HOLD_MISSING, at=now, actor=actor, patron=current.patron,
               book_id=current.book_id, copy_id=missing.pk, hold=current, channel=channel, location=missing.here)
        current.status, current.copy = Hold.Status.WAITING, None
        current.save(update_fields=["status", "copy"])
        other = _available_copy(current.book_id, prefer=current.pickup_location.name, exclude=missing.pk)
        if other is not None:
            _set_aside(current, other, from_status=Copy.Status.AVAILABLE, now=now, actor=actor, channel=channel)
        _reindex(current.book_id)
    return current


# --- transfers --------------------------------------------------------------------------------------------


def transfer_create(*, copy: Copy, to: Location, actor, channel: str = Channel.WEB,
                    now: datetime | None = None) -> Transfer:
    """Move a copy on its shelf to another location for good (its location changes when it is received).
    Refusals: ``same_location``, ``not_available``."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_book(copy.book_id)
        current = Copy.objects.select_for_update().get(pk=copy.pk)
        if to.name == current.here:
            raise InvalidInput("to_location", _("复本已在 %(name)s") % {"name": to.name}, code="same_location")
        if current.status != Copy.Status.AVAILABLE:
            raise DomainError("not_available", _("只有在架的复本可以调拨（当前：%(status)s）")
                              % {"status": current.get_status_display()}, status_of_copy=current.status)
        transfer = _queue_transfer(current, from_status=Copy.Status.AVAILABLE, here=current.here, to=to.name,
                                   reason=Transfer.Reason.MOVE, hold=None, now=now, actor=actor, channel=channel)
        _reindex(copy.book_id)
    return transfer


def _lock_transfer(transfer: Transfer) -> Transfer:
    _lock_book(transfer.copy.book_id)
    # Lock the transfer's row only: PostgreSQL refuses FOR UPDATE on the nullable side of the hold's outer join.
    return Transfer.objects.select_for_update(of=("self",)).select_related("copy", "hold").get(pk=transfer.pk)


def transfer_send(*, transfer: Transfer, actor, channel: str = Channel.WEB, now: datetime | None = None) -> Transfer:
    """The copy left in the van.  Refusal: ``transfer_not_queued``."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_transfer(transfer)
        if current.status != Transfer.Status.QUEUED:
            raise DomainError("transfer_not_queued", _("该调拨已发出或已结束"))
        current.status, current.sent_at, current.sent_by = Transfer.Status.SENT, now, actor
        current.save(update_fields=["status", "sent_at", "sent_by"])
        audit(CirculationEvent.Action.TRANSFER_SENT, at=now, actor=actor, patron=None, book_id=current.copy.book_id,
               copy_id=current.copy_id, hold=current.hold, channel=channel, transfer=current.pk,
               to_location=current.to_location)
    return current


def transfer_receive(*, transfer: Transfer, actor, channel: str = Channel.WEB,
                     now: datetime | None = None) -> Routing:
    """The copy came off the van at its destination (a transfer never marked sent is received all the same):
    onto the hold shelf for the hold it travelled for, else to the queue, home, or the shelf.
    Refusal: ``transfer_closed``."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_transfer(transfer)
        if current.status not in Transfer.OPEN:
            raise DomainError("transfer_closed", _("该调拨已签收或已取消"))
        current.status, current.received_at, current.received_by = Transfer.Status.RECEIVED, now, actor
        current.sent_at = current.sent_at or now
        current.save(update_fields=["status", "received_at", "received_by", "sent_at"])
        copy = Copy.objects.select_for_update().get(pk=current.copy_id)
        here = current.to_location
        audit(CirculationEvent.Action.TRANSFER_RECEIVED, at=now, actor=actor, patron=None, book_id=copy.book_id,
               copy_id=copy.pk, hold=current.hold, channel=channel, transfer=current.pk, location=here)
        hold = current.hold
        if hold is not None:
            hold = Hold.objects.select_for_update().select_related("patron", "pickup_location").get(pk=hold.pk)
        if hold is not None and hold.status == Hold.Status.IN_TRANSIT and hold.copy_id == copy.pk:
            _to_hold_shelf(hold, copy, from_status=Copy.Status.IN_TRANSIT, here=here, now=now, actor=actor,
                           channel=channel)
            routing = Routing(copy, hold=hold)
        else:
            if current.reason == Transfer.Reason.MOVE:
                Copy.objects.filter(pk=copy.pk).update(location=here, at_location="")
                Location.register(here)
                copy.location, copy.at_location = here, ""
            routing = _serve(copy, from_status=Copy.Status.IN_TRANSIT, in_hand=True, here=here, now=now,
                             actor=actor, channel=channel)
        _reindex(copy.book_id)
    return routing
