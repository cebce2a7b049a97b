import io

import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from townbrain.core import bulk
from townbrain.projects.tests.test_projects import make_project  # noqa: F401 (re-exported for tests)


def xlsx(rows, merge=None) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    if merge:
        sheet.merge_range(*merge)
    book.close()
    return buf.getvalue()


def as_one_call_after_another(make_batch, items, state) -> list:
    """Check that one batch (make_batch()) of `items` ends as the one-item case (the services) called for each
    item in turn would: the same refusals, the same `state()` after. Returns each item's outcome, "ok" or what
    refused it (a ValidationError's message_dict or messages, a PermissionDenied's text)."""
    def told(exc):
        if isinstance(exc, ValidationError):
            return exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return str(exc)

    with transaction.atomic():
        single = []
        for item in items:
            try:
                bulk.one(make_batch(), item)
                single.append("ok")
            except (ValidationError, PermissionDenied) as exc:
                single.append(told(exc))
        single_state = state()
        transaction.set_rollback(True)
    batch = make_batch()
    results = batch.check(items)
    batch.write()
    assert ([told(r) if isinstance(r, Exception) else "ok" for r in results], state()) == (single, single_state)
    return single


HEADER = ["项目编号", "项目名称", "乡镇代码", "所属计划", "类别", "总投资(万元)", "年度计划投资(万元)", "计划开工日期",
          "状态"]


@pytest.fixture
def project_rows():
    return [HEADER,
            ["GL-001", "瓜沥镇污水管网", "330109113", "meili", "功能便民环境美", 1200, 600, "2020-03-01", "谋划"],
            ["GL-002", "瓜沥镇农贸市场", 330109113, "美丽城镇", "gongneng", "1,500", "５００", "2020/4/1", "前期"]]
