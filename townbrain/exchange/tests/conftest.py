import io

import pytest
import xlsxwriter

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


HEADER = ["项目编号", "项目名称", "乡镇代码", "所属计划", "类别", "总投资(万元)", "年度计划投资(万元)", "计划开工日期",
          "状态"]


@pytest.fixture
def project_rows():
    return [HEADER,
            ["GL-001", "瓜沥镇污水管网", "330109113", "meili", "功能便民环境美", 1200, 600, "2020-03-01", "谋划"],
            ["GL-002", "瓜沥镇农贸市场", 330109113, "美丽城镇", "gongneng", "1,500", "５００", "2020/4/1", "前期"]]
