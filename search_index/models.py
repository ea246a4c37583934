"""The index change log and the nodes that apply it (docs/design.md, "The index change log").

Every catalogue change writes an ``IndexChange`` row in the same transaction as the change itself, so a
crash between the commit and the index write loses nothing.  The log is not consumed: each node (an index
directory and the workers that keep it, ``IndexNode``) applies the entries after its own position and
records how far it got; entries behind every live node, or older than ``SEARCH_LOG_KEEP_SECONDS``, are
pruned (``IndexLogState`` remembers how far).
"""

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class IndexChange(models.Model):
    """One entry of the change log: a record whose index entry must be written again (or deleted).

    Append-only: nodes read it in id order and never change it; only pruning deletes, from the oldest end.
    """

    class Kind(models.TextChoices):
        BOOK = "book", _("图书")
        PAPER = "paper", _("调研成果")

    class Op(models.TextChoices):
        SAVE = "save", _("保存")
        DELETE = "delete", _("删除")
        #: Written again with no change of its own: check_index --fix, a law name's new forms, an upgrade.
        REINDEX = "reindex", _("重新索引")

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    object_id = models.BigIntegerField(_("记录编号"))
    op = models.CharField(_("操作"), max_length=8, choices=Op.choices, default=Op.SAVE)
    #: The database's clock (every node compares ages with one clock): pruning by age and the lag shown.
    created_at = models.DateTimeField(_("写入时间"), db_default=Now())

    class Meta:
        verbose_name = _("索引变更")
        verbose_name_plural = _("索引变更日志")
        # Nodes read the entries after their position in id order: the primary key gives that order.
        ordering = ["id"]
        # create_if_fillable asks whether every book and paper has an entry (documents.unlogged_records_exist).
        indexes = [models.Index(fields=["kind", "object_id"], name="indexchange_record")]

    def __str__(self) -> str:
        return f"{self.id} {self.kind}:{self.object_id}"

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.object_id}"


class IndexNode(models.Model):
    """A search node: one index directory, kept by the workers of one machine (``SEARCH_NODE``).

    ``position``: every log entry up to it is in this node's index (or was given up as never committed);
    ``applied_to``: the highest entry applied (entries between the two were waiting for an earlier
    transaction).  Written after each index commit and at least every ``nodes.HEARTBEAT_SECONDS``.
    """

    name = models.CharField(_("节点"), max_length=255, unique=True)
    #: The index generation (generations.current_generation) the position belongs to.
    generation = models.CharField(_("索引版本"), max_length=100)
    position = models.BigIntegerField(_("已应用到"))
    applied_to = models.BigIntegerField(_("最新应用"))
    started_at = models.DateTimeField(_("加入时间"), auto_now_add=True)
    seen_at = models.DateTimeField(_("最近心跳"))

    class Meta:
        verbose_name = _("检索节点")
        verbose_name_plural = _("检索节点")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(applied_to__gte=models.F("position")),
                                   name="indexnode_applied_not_behind_position"),
        ]

    def __str__(self) -> str:
        return self.name


class IndexLogState(models.Model):
    """The one row saying how far the change log was pruned: entries up to ``pruned_through`` are gone, so a
    node whose position is below it must rebuild its index from the database."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    pruned_through = models.BigIntegerField(default=0)
    pruned_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("变更日志状态")
        verbose_name_plural = _("变更日志状态")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="indexlogstate_single_row")]

    def __str__(self) -> str:
        return f"pruned through {self.pruned_through}"


class LawName(models.Model):
    """A law, administrative regulation or judicial interpretation in force, with the short forms judges
    use for it (search_index.laws; docs/search.md, "Law names").  Filled from ``data/laws.csv``, edited by
    librarians in the admin; every running process picks an edit up within ``LAW_DICTIONARY_CHECK_SECONDS``."""

    class Kind(models.TextChoices):
        LAW = "law", _("法律")
        REGULATION = "regulation", _("行政法规")
        INTERPRETATION = "interpretation", _("司法解释")

    #: Stored in the index with each cited article (``cites``: f0186a394): never changed once a record cites it.
    code = models.CharField(_("编号"), max_length=16, unique=True,
                            help_text=_("检索索引中记录引用条文时使用，创建后不再修改"))
    title = models.CharField(_("标准名称"), max_length=200, unique=True,
                             help_text=_("官方全称，例如 中华人民共和国民事诉讼法"))
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    short_forms = models.TextField(_("简称"), blank=True,
                                   help_text=_("一行一个，例如 民诉法；不含“中华人民共和国”的名称也写在这里"))
    parts = models.TextField(_("分编"), blank=True, help_text=_("一行一个，例如 物权编（引用条文时可写在名称与条文之间）"))
    source = models.CharField(_("来源"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("法律名称")
        verbose_name_plural = _("法律名称")
        ordering = ["code"]
        # laws.version(): MAX(updated_at), asked every LAW_DICTIONARY_CHECK_SECONDS by each process.
        indexes = [models.Index(fields=["updated_at"], name="lawname_updated")]

    def __str__(self) -> str:
        return self.title
