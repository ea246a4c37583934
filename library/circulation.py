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
from core.errors import DomainError
from library import notices
from library.models import Book, Channel, CirculationEvent, Copy, Hold, Loan
from library.policy import due_date_after, library_today, policy_for
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


def _set_copy_status(copy_id: int, *, expected: str, new: str, at: datetime) -> bool:
    """Move a copy from ``expected`` to ``new``; False when someone else moved it first."""
    return Copy.objects.filter(pk=copy_id, status=expected).update(status=new, updated_at=at) == 1


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
    """Lend ``copy`` (a desk checkout) or any available copy of ``book`` (self-service) to ``patron``.

    Refusals: ``already_borrowed``, ``overdue_block``, ``loan_limit``, ``reserved`` (the copy waits
    on someone else's hold), ``not_available`` (with ``can_hold``).  Borrowing the copy that waits on
    the patron's own ready hold fulfils the hold; so does borrowing another copy of that book.
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
        chosen = _choose_copy(book_id=book_id, copy=copy, own_hold=own_hold)
        from_status = Copy.Status.ON_HOLD_SHELF if chosen.status == Copy.Status.ON_HOLD_SHELF else Copy.Status.AVAILABLE
        if not _set_copy_status(chosen.pk, expected=from_status, new=Copy.Status.ON_LOAN, at=now):
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
            released = own_hold.copy_id if own_hold.copy_id not in (None, chosen.pk) else None
            Hold.objects.filter(pk=own_hold.pk).update(status=Hold.Status.FULFILLED, closed_at=now)
            audit(CirculationEvent.Action.HOLD_FULFILLED, at=now, actor=actor, patron=patron, book_id=book_id,
                   copy_id=chosen.pk, loan=loan, hold=own_hold, channel=channel)
            if released is not None:
                # The patron took another copy: the one on the shelf for them goes to the next in line.
                _release_copy(released, book_id=book_id, from_status=Copy.Status.ON_HOLD_SHELF, now=now,
                              actor=actor, channel=channel)
        _reindex(book_id)
    return loan


def _choose_copy(*, book_id: int, copy: Copy | None, own_hold: Hold | None) -> Copy:
    ready_copy = own_hold.copy_id if own_hold is not None and own_hold.status == Hold.Status.READY else None
    if copy is not None:
        current = Copy.objects.select_for_update().get(pk=copy.pk)
        if current.status == Copy.Status.ON_HOLD_SHELF and current.pk != ready_copy:
            raise DomainError("reserved", _("该复本已为其他读者预约保留"))
        if current.status not in (Copy.Status.AVAILABLE, Copy.Status.ON_HOLD_SHELF):
            raise DomainError(
                "not_available", _("该复本当前不可借（%(status)s）") % {"status": current.get_status_display()},
                status_of_copy=current.status,
            )
        return current
    if ready_copy is not None:
        return Copy.objects.select_for_update().get(pk=ready_copy)
    candidate = (
        Copy.objects.select_for_update(**_skip_locked())
        .filter(book_id=book_id, status=Copy.Status.AVAILABLE)
        .order_by("id")
        .first()
    )
    if candidate is None:
        raise _not_available(book_id)
    return candidate


def _not_available(book_id: int) -> DomainError:
    if Copy.objects.filter(book_id=book_id, status=Copy.Status.ON_HOLD_SHELF).exists() and not Copy.objects.filter(
        book_id=book_id, status=Copy.Status.ON_LOAN
    ).exists():
        return DomainError("reserved", _("本书在架复本均为其他读者预约保留，可以预约排队"),
                           can_hold=True)
    return DomainError("not_available", _("本书暂无可借复本，可以预约"),
                       can_hold=True)


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


# --- returning -------------------------------------------------------------------------------------


@dataclass
class ReturnResult:
    loan: Loan
    hold: Hold | None  # the hold the copy now waits for, if any


def loan_return(*, loan: Loan, actor: AbstractBaseUser | None, channel: str = Channel.API,
                now: datetime | None = None) -> ReturnResult:
    """Close a loan.  The copy goes to the first waiting hold (hold shelf) or back to the shelf."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_with_book(Loan, loan.pk, loan.book_id)
        if current.status != Loan.Status.ACTIVE:
            raise DomainError("loan_closed", _("该借阅已归还"))
        Loan.objects.filter(pk=current.pk, status=Loan.Status.ACTIVE).update(
            status=Loan.Status.RETURNED, returned_at=now
        )
        current.refresh_from_db()
        audit(CirculationEvent.Action.RETURN, at=now, actor=actor, patron=current.patron, book_id=current.book_id,
               copy_id=current.copy_id, loan=current, channel=channel,
               overdue_days=max(0, (library_today(now) - current.due_date).days))
        hold = _release_copy(current.copy_id, book_id=current.book_id, from_status=Copy.Status.ON_LOAN, now=now,
                             actor=actor, channel=channel)
        _reindex(current.book_id)
    return ReturnResult(loan=current, hold=hold)


def active_loan_for_copy(copy: Copy) -> Loan | None:
    return Loan.objects.filter(copy=copy, status=Loan.Status.ACTIVE).select_related("patron", "book", "copy").first()


def _release_copy(copy_id: int, *, book_id: int, from_status: str, now: datetime, actor, channel: str) -> Hold | None:
    """A copy comes free: give it to the first waiting hold, else put it back on the shelf."""
    hold = (
        Hold.objects.select_for_update()
        .filter(book_id=book_id, status=Hold.Status.WAITING)
        .select_related("patron")
        .order_by("created_at", "id")
        .first()
    )
    if hold is None:
        _set_copy_status(copy_id, expected=from_status, new=Copy.Status.AVAILABLE, at=now)
        return None
    copy = Copy.objects.get(pk=copy_id)
    if not _set_copy_status(copy_id, expected=from_status, new=Copy.Status.ON_HOLD_SHELF, at=now):
        return None
    policy = policy_for(hold.patron, copy.location)
    hold.status = Hold.Status.READY
    hold.copy_id = copy_id
    hold.ready_at = now
    hold.pickup_by = due_date_after(library_today(now), policy.pickup_days)
    hold.save(update_fields=["status", "copy", "ready_at", "pickup_by"])
    audit(CirculationEvent.Action.HOLD_READY, at=now, actor=actor, patron=hold.patron, book_id=book_id,
           copy_id=copy_id, hold=hold, channel=channel, pickup_by=str(hold.pickup_by))
    notices.hold_ready(hold)
    return hold


def copy_came_free(*, copy: Copy, from_status: str, actor, channel: str = Channel.ADMIN,
                   now: datetime | None = None) -> Hold | None:
    """A copy that was not lendable (repair, lost) became available: serve the queue first."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_book(copy.book_id)
        hold = _release_copy(copy.pk, book_id=copy.book_id, from_status=from_status, now=now, actor=actor,
                             channel=channel)
        _reindex(copy.book_id)
    return hold


# --- holds -------------------------------------------------------------------------------------------


def hold_place(*, patron: AbstractBaseUser, book: Book, actor: AbstractBaseUser | None,
               channel: str = Channel.API, now: datetime | None = None) -> Hold:
    """Join the queue for a book with no available copy.  Refusals: ``available_now``,
    ``already_borrowed``, ``hold_exists``, ``hold_limit``, ``not_holdable``."""
    with transaction.atomic():
        _lock_patron(patron)
        _lock_book(book.pk)
        # The time is taken under the book's lock, so queue order is the order holds were committed.
        now = now or timezone.now()
        if Loan.objects.filter(patron=patron, book=book, status=Loan.Status.ACTIVE).exists():
            raise DomainError("already_borrowed", _("您已借阅本书"))
        if Hold.objects.filter(patron=patron, book=book, status__in=Hold.OPEN).exists():
            raise DomainError("hold_exists", _("您已预约本书"))
        copies = Copy.objects.filter(book=book)
        if copies.filter(status=Copy.Status.AVAILABLE).exists():
            raise DomainError("available_now", _("本书有在架复本，可以直接借阅"))
        if not copies.filter(status__in=[Copy.Status.ON_LOAN, Copy.Status.ON_HOLD_SHELF, Copy.Status.REPAIR]).exists():
            raise DomainError("not_holdable", _("本书没有可流通的复本"))
        limits = policy_for(patron)
        if Hold.objects.filter(patron=patron, status__in=Hold.OPEN).count() >= limits.max_holds:
            raise DomainError("hold_limit", _("已达预约上限 %(limit)s 个") % {"limit": limits.max_holds},
                              limit=limits.max_holds)
        _take_hold_quota(patron, actor)  # after the checks, so that a refusal costs nothing
        try:
            with transaction.atomic():
                hold = Hold.objects.create(book=book, patron=patron, created_at=now, channel=channel)
        except IntegrityError:
            raise DomainError("hold_exists", _("您已预约本书")) from None
        audit(CirculationEvent.Action.HOLD_PLACED, at=now, actor=actor, patron=patron, book_id=book.pk, hold=hold,
               channel=channel)
        _reindex(book.pk)
    return hold


def hold_cancel(*, hold: Hold, actor: AbstractBaseUser | None, channel: str = Channel.API,
                now: datetime | None = None) -> Hold:
    """Leave the queue (or give up a copy on the hold shelf, which goes to the next in line)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_with_book(Hold, hold.pk, hold.book_id)
        if current.status not in Hold.OPEN:
            raise DomainError("hold_closed", _("该预约已结束"))
        was_ready = current.status == Hold.Status.READY
        Hold.objects.filter(pk=current.pk).update(status=Hold.Status.CANCELLED, closed_at=now)
        current.refresh_from_db()
        audit(CirculationEvent.Action.HOLD_CANCELLED, at=now, actor=actor, patron=current.patron,
               book_id=current.book_id, copy_id=current.copy_id, hold=current, channel=channel)
        if was_ready:
            _release_copy(current.copy_id, book_id=current.book_id, from_status=Copy.Status.ON_HOLD_SHELF, now=now,
                          actor=actor, channel=channel)
        _reindex(current.book_id)
    return current


def holds_expire(*, now: datetime | None = None, channel: str = Channel.COMMAND) -> int:
    """Expire ready holds whose pickup deadline has passed; each copy moves on to the next in line.

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
            _release_copy(current.copy_id, book_id=book_id, from_status=Copy.Status.ON_HOLD_SHELF, now=now,
                          actor=None, channel=channel)
            _reindex(book_id)
            expired += 1
    return expired
