"""“Everything under 3301” is one indexed query (ARCHITECTURE rule 3)."""

from django.db import connection

from townbrain.core.models import OrgUnit


def test_subtree_query_uses_prefix_index(tree):
    qs = OrgUnit.objects.filter(code__startswith="3301")
    assert set(qs.values_list("code", flat=True)) == {c for c in tree if c.startswith("3301")}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The test tree is tiny, so make the planner show whether the index CAN serve the
            # prefix LIKE (it can only with text_pattern_ops); on real data it chooses it itself.
            cursor.execute("SET enable_seqscan = off")
            plan = qs.explain()
            cursor.execute("SET enable_seqscan = on")
        assert "core_orgunit_code_prefix" in plan, plan
        assert "~>=~" in plan  # the pattern-ops range condition, i.e. an index range scan
