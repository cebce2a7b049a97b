"""The exchange kinds of publicity records (宣传与表彰, docs/data-standard.md §2.6–§2.8): `articles` (宣传稿件),
`article_quotas` (定期约稿) and `honours` (表彰).

Registered in `townbrain.exchange.kinds.KINDS`; every row is written through `publicity.services` (the
UI's and the API's path: the right checked on the record's org unit, validated, saved and audited in one
transaction), as the other kinds write through their apps' services.

Natural keys are the models' own (the service refuses a second record with one, so an import matches
rows on them):

- an article: **town, 发布日期, 媒体名称, 标题** — a row whose key exists updates 媒体级别 and 链接;
- a quota: **town, 期间** — updates 约稿数, 最低媒体级别 and 备注;
- an honour: **unit, 表彰日期, 表彰类别, 获表彰人, 荣誉称号** — updates 颁发单位, 会议/文件 and 事由.

A row whose key exists updates that record (or leaves it unchanged); any other row creates one, so the
same file imported twice changes nothing the second time, and an export imports back unchanged. An
optional column absent from the file leaves the stored value alone; an empty cell in it clears it.

Warnings (the data-quality register, exchange/quality.py) of these records are registered from here: a
date published or awarded in the future, an article without its link, a quota of 0 articles.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import audit, bulk
from townbrain.core.models import OrgUnit
from townbrain.core.scope import allows
from townbrain.publicity import services
from townbrain.publicity.models import LEVEL_CHINESE, Article, Honour, HonourKind, OutletLevel, Quota

from . import normalize as n
from . import quality
from .kind import BatchKind, Column, RowError, restore

# The data standard's column headers (DOMAIN §10 words, as offices head their sheets).
ARTICLE_HEADERS = {"published_on": "发布日期", "town": "乡镇代码", "level": "媒体级别", "outlet": "媒体名称",
                   "title": "标题", "link": "链接"}
QUOTA_HEADERS = {"town": "乡镇代码", "period": "期间", "articles": "约稿数(篇)", "min_level": "最低媒体级别",
                 "note": "备注"}
HONOUR_HEADERS = {"kind": "表彰类别", "unit": "单位代码", "recipient": "获表彰人", "title": "荣誉称号",
                  "issuer": "颁发单位", "awarded_on": "表彰日期", "reason": "事由", "occasion": "会议/文件"}
HONOUR_CHINESE = {HonourKind.UNIT: "先进单位", HonourKind.PERSON: "先进个人"}

# How offices word the outlet levels besides 中央 / 省 / 市 / 县 (+ 级, 级媒体) and the codes.
LEVEL_WORDS = {"国家级": "central", "全国": "central", "省部级": "provincial", "地市级": "city", "地级": "city",
               "区级": "county", "县区级": "county", "县(区)级": "county", "县(市、区)级": "county",
               "national": "central", "province": "provincial", "municipal": "city"}
HONOUR_WORDS = {"先进集体": HonourKind.UNIT, "集体": HonourKind.UNIT, "单位": HonourKind.UNIT,
                "个人": HonourKind.PERSON, "advanced unit": HonourKind.UNIT,
                "advanced individual": HonourKind.PERSON, "individual": HonourKind.PERSON}


def _spelling(text) -> str:
    return "".join(n.clean_text(text).lower().split())


def _read_choice(value, choices, chinese: dict, extra: dict, suffixes=("",)) -> str | None:
    """The choice `value` spells — its code, its label, its Chinese word (with one of `suffixes`) or a word of
    `extra` — ignoring case, spaces and full-width forms; "" for an empty cell, None for no choice."""
    text = _spelling(value)
    if not text:
        return ""
    words = {_spelling(word): code for word, code in extra.items()}
    for choice in choices:
        words |= {choice.value: choice.value, _spelling(choice.label): choice.value}
        words |= {chinese[choice.value] + suffix: choice.value for suffix in suffixes}
    return words.get(text)


def parse_level(value) -> str:
    """An outlet level (媒体级别): 中央, 省, 市, 县, also 中央级, 省级媒体, 国家级, central …; empty is ""."""
    level = _read_choice(value, OutletLevel, LEVEL_CHINESE, LEVEL_WORDS, ("", "级", "级媒体", "媒体"))
    if level is None:
        raise n.BadValue(_("“%(value)s” is not an outlet level; use 中央, 省, 市 or 县 (级).") % {"value": value})
    return level


def parse_honour_kind(value) -> str:
    kind = _read_choice(value, HonourKind, HONOUR_CHINESE, HONOUR_WORDS)
    if kind is None:
        raise n.BadValue(_("“%(value)s” is not a kind of honour; use 先进单位 or 先进个人.") % {"value": value})
    return kind


_LINK = forms.URLField(required=False, max_length=500, assume_scheme="https")


def parse_link(value) -> str:
    """A web address read as the article form reads it (one without a scheme is https://…)."""
    try:
        return _LINK.clean(n.parse_text(value))
    except ValidationError as exc:
        raise n.BadValue(" ".join(exc.messages)) from None


def parse_articles(value) -> int | None:
    return n.parse_whole(value, units=("篇",))


class PublicityKind(BatchKind):
    """A kind of one publicity model: rows keyed as the service keys them, checked and written together by
    the service's PublicityBatch, undone through its update and delete."""

    model = None
    unit_field = "town"  # the column (and field) naming the record's org unit
    date_field = None  # narrows the records read for matching to the file's dates

    def prepare(self, actor, records):
        codes = sorted({r.get(self.unit_field) for r in records if r.get(self.unit_field)})
        self.units = {u.code: u for u in bulk.where_in(OrgUnit.objects.all(), "code", codes)}
        stored = self.model.objects.all()
        dates = [r[self.date_field] for r in records if r.get(self.date_field)] if self.date_field else []
        if dates:
            stored = stored.filter(**{f"{self.date_field}__gte": min(dates), f"{self.date_field}__lte": max(dates)})
        self.existing = {self.key(audit.snapshot(o, self.key_fields)): o
                         for o in bulk.where_in(stored, f"{self.unit_field}_id", codes)}

    @property
    def key_fields(self) -> tuple[str, ...]:
        return services.KEYS[self.model][0]

    def key(self, plain: dict) -> tuple:
        return tuple(plain[f] for f in self.key_fields)

    def unit(self, actor, v: dict) -> OrgUnit:
        code = v.get(self.unit_field)
        unit = self.units.get(code)
        if unit is None:
            raise RowError({self.unit_field: _("There is no org unit with code %(code)s.") % {"code": code}})
        if not allows(actor, "add", unit.code):
            raise RowError({self.unit_field: _("%(name)s (%(code)s) is outside your area.") % {
                "name": unit.name, "code": unit.code}})
        return unit

    def service_fields(self, unit, v: dict) -> dict:
        """The service's fields of the row; optional columns only when the file has them."""
        raise NotImplementedError

    def build(self, actor, v: dict) -> dict:
        fields = self.service_fields(self.unit(actor, v), v)
        key = self.key({f: audit.snapshot_value(fields[f]) for f in self.key_fields})
        return {"item": (self.existing.get(key), fields), "key": key}

    def batch_for(self, actor):
        return services.PublicityBatch(actor, self.model)

    def undo(self, actor, change):
        obj = self.model.objects.filter(pk=change.object_id).first()
        if obj is None:
            return
        if change.action == "created":
            services.delete(actor, obj)
        else:
            services.update(actor, obj, **restore(self.model, change.before))


def _optional(v: dict, keys) -> dict:
    return {k: v[k] or "" for k in keys if k in v}


class ArticlesKind(PublicityKind):
    model = Article
    date_field = "published_on"

    def service_fields(self, unit, v):
        return {"town": unit, "published_on": v["published_on"], "level": v["level"], "outlet": v["outlet"],
                "title": v["title"], **_optional(v, ("link",))}


class QuotasKind(PublicityKind):
    model = Quota

    def service_fields(self, unit, v):
        return {"town": unit, "period": v["period"], "articles": v["articles"],
                **_optional(v, ("min_level", "note"))}


class HonoursKind(PublicityKind):
    model = Honour
    unit_field = "unit"
    date_field = "awarded_on"

    def service_fields(self, unit, v):
        kind = v["kind"]
        recipient = v.get("recipient") or ""
        if not recipient and kind == HonourKind.PERSON:
            raise RowError({"recipient": _("An advanced individual (先进个人) needs the person's name.")})
        # A 先进单位 row without a name honours the org unit itself; without 荣誉称号 the honour is its kind's
        # word — both then part of the key, as the export writes them.
        return {"unit": unit, "kind": kind, "recipient": recipient or unit.name,
                "title": v.get("title") or HONOUR_CHINESE[kind], "issuer": v["issuer"],
                "awarded_on": v["awarded_on"], **_optional(v, ("occasion", "reason"))}


TOWN_ALIASES = ("town code", "town", "乡镇(街道)代码", "区划代码")
LEVEL_CHOICES = tuple(LEVEL_CHINESE.values())

ARTICLES = ArticlesKind(
    name="articles",
    label=gettext_lazy("Publicity articles (宣传稿件)"),
    object_type="article",
    columns=[
        Column("published_on", ARTICLE_HEADERS["published_on"],
               ("date published", "published on", "date", "日期", "发稿日期", "刊发日期", "发表日期", "发布时间"),
               parse=n.parse_date, required=True, example="2020-10-20"),
        Column("town", ARTICLE_HEADERS["town"], TOWN_ALIASES, parse=n.parse_code, required=True,
               help=gettext_lazy("9-digit division code of the town"), example="330109113"),
        Column("level", ARTICLE_HEADERS["level"], ("outlet level", "level", "媒体层级", "级别"), parse=parse_level,
               required=True, help=gettext_lazy("中央, 省, 市 or 县 (also 中央级, 省级 …)"), choices=LEVEL_CHOICES,
               example="市"),
        Column("outlet", ARTICLE_HEADERS["outlet"], ("outlet", "media", "媒体", "刊发媒体", "发布媒体"), parse=n.parse_text,
               required=True, example="杭州日报"),
        Column("title", ARTICLE_HEADERS["title"], ("title", "稿件标题", "文章标题", "题目"), parse=n.parse_text,
               required=True, example="瓜沥镇：美丽城镇的样本"),
        Column("link", ARTICLE_HEADERS["link"], ("link", "url", "网址", "原文链接", "链接地址"), parse=parse_link,
               help=gettext_lazy("Web address of the article"), example="https://hzdaily.hangzhou.com.cn/"),
    ],
)

ARTICLE_QUOTAS = QuotasKind(
    name="article_quotas",
    label=gettext_lazy("Article quotas (定期约稿)"),
    object_type="quota",
    columns=[
        Column("town", QUOTA_HEADERS["town"], TOWN_ALIASES, parse=n.parse_code, required=True,
               help=gettext_lazy("9-digit division code of the town"), example="330109113"),
        Column("period", QUOTA_HEADERS["period"], ("period", "约稿期间", "考核期"), parse=n.parse_period, required=True,
               help=gettext_lazy("2020, 2020S1, 2020Q3 or 202009 (also 2020年第三季度)"), example="2020Q4"),
        Column("articles", QUOTA_HEADERS["articles"], ("articles owed", "articles", "quota", "约稿数", "约稿篇数",
                                                       "应交篇数", "篇数"),
               parse=parse_articles, required=True, help=gettext_lazy("Articles owed in the period"), example=2),
        Column("min_level", QUOTA_HEADERS["min_level"], ("lowest outlet level", "lowest level", "min level",
                                                         "最低级别", "媒体级别要求"),
               parse=parse_level, choices=LEVEL_CHOICES,
               help=gettext_lazy("Only articles in outlets of this level or above count; empty: every level"),
               example="市"),
        Column("note", QUOTA_HEADERS["note"], ("note", "comment", "说明"), parse=n.parse_text),
    ],
)

HONOURS = HonoursKind(
    name="honours",
    label=gettext_lazy("Honours (表彰)"),
    object_type="honour",
    columns=[
        Column("kind", HONOUR_HEADERS["kind"], ("kind of honour", "kind", "category", "类别", "表彰类型"),
               parse=parse_honour_kind, required=True, choices=tuple(HONOUR_CHINESE.values()),
               help=gettext_lazy("先进单位 or 先进个人"), example="先进单位"),
        Column("unit", HONOUR_HEADERS["unit"], ("org unit", "unit code", "unit", "区划代码", "乡镇代码"),
               parse=n.parse_code, required=True,
               help=gettext_lazy("Division code of the unit honoured, or of the person's unit (any level)"),
               example="330109113"),
        Column("recipient", HONOUR_HEADERS["recipient"], ("recipient", "name", "姓名", "获奖者", "表彰对象",
                                                          "获表彰单位"),
               parse=n.parse_text, help=gettext_lazy("The person's name (先进个人); for 先进单位 the unit's name, "
                                                   "default the org unit's"), example="瓜沥镇人民政府"),
        Column("title", HONOUR_HEADERS["title"], ("honour", "title", "称号", "荣誉"), parse=n.parse_text,
               help=gettext_lazy("Default: 先进单位 or 先进个人"), example="美丽城镇建设工作先进集体"),
        Column("issuer", HONOUR_HEADERS["issuer"], ("issuing body", "issuer", "授予单位", "授予机关", "颁发机关"),
               parse=n.parse_text, required=True, example="浙江省美丽城镇建设工作领导小组"),
        Column("awarded_on", HONOUR_HEADERS["awarded_on"], ("date awarded", "awarded on", "date", "日期",
                                                            "授予日期", "表彰时间"),
               parse=n.parse_date, required=True, example="2020-12-28"),
        Column("reason", HONOUR_HEADERS["reason"], ("reason", "表彰事由", "主要事迹"), parse=n.parse_paragraph,
               example="美丽城镇建设成效显著"),
        Column("occasion", HONOUR_HEADERS["occasion"], ("meeting or document", "occasion", "meeting", "document",
                                                        "会议或文件", "会议", "文件", "表彰文件", "文号"),
               parse=n.parse_text, example="全省美丽城镇建设推进会"),
    ],
)


# --- exports in the standard (what `townbrain export --kind …` writes; each imports back unchanged) -----------

def articles(actor):
    return Article.objects.restrict(actor, "view")


def article_rows(qs):
    for a in qs.order_by("town_id", "published_on", "outlet", "title").iterator(2000):
        yield [a.published_on, a.town_id, LEVEL_CHINESE[a.level], a.outlet, a.title, a.link]


def quotas(actor):
    return Quota.objects.restrict(actor, "view")


def quota_rows(qs):
    for q in qs.order_by("town_id", "period").iterator(2000):
        yield [q.town_id, q.period, q.articles, LEVEL_CHINESE.get(q.min_level, ""), q.note]


def honours(actor):
    return Honour.objects.restrict(actor, "view")


def honour_rows(qs):
    for h in qs.order_by("unit_id", "awarded_on", "kind", "recipient", "title").iterator(2000):
        yield [HONOUR_CHINESE[h.kind], h.unit_id, h.recipient, h.title, h.issuer, h.awarded_on, h.reason, h.occasion]


# --- the data-quality register learns publicity records ---------------------------------------------------

ARTICLE_RULES = [
    quality.future_rule("article_published_future", "article", ARTICLE_HEADERS["published_on"], "published_on",
                        gettext_lazy("The date published %(value)s lies in the future.")),
    quality.Rule("article_link_missing", "article", ARTICLE_HEADERS["link"], "link",
                 gettext_lazy("No link (链接) to the article; add it so the article can be checked."),
                 test=lambda a, today: not a.link, q=lambda today: Q(link="")),
]
QUOTA_RULES = [
    quality.Rule("quota_zero", "quota", QUOTA_HEADERS["articles"], "articles",
                 gettext_lazy("A quota of 0 articles asks for nothing and is always met; is the figure missing?"),
                 test=lambda q, today: q.articles == 0, q=lambda today: Q(articles=0)),
]
HONOUR_RULES = [
    quality.future_rule("honour_awarded_future", "honour", HONOUR_HEADERS["awarded_on"], "awarded_on",
                        gettext_lazy("The date awarded %(value)s lies in the future.")),
]


def _article_model():
    return Article


def _quota_model():
    return Quota


def _honour_model():
    return Honour


quality.register("article", quality.Subject(_article_model, "town_id", ("town",),
                                            lambda a: f"{a.published_on:%Y-%m-%d} {a.outlet} {a.title}",
                                            "article-detail", gettext_lazy("Publicity article")), ARTICLE_RULES)
quality.register("quota", quality.Subject(_quota_model, "town_id", ("town",), lambda q: f"{q.town.name} {q.period}",
                                          "quota-detail", gettext_lazy("Article quota")), QUOTA_RULES)
quality.register("honour", quality.Subject(_honour_model, "unit_id", ("unit",),
                                           lambda h: f"{h.awarded_on:%Y-%m-%d} {h.recipient} {h.title}",
                                           "honour-detail", gettext_lazy("Honour awarded")), HONOUR_RULES)
