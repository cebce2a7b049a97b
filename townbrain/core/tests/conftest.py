import pytest
from django.utils.translation import trans_real


@pytest.fixture
def zh_catalogue(monkeypatch):
    """zh_catalogue({msgid: msgstr}): make the Chinese catalogue translate these msgids for one test.

    For strings the lead has not translated yet: the test proves the page asks for one message
    (and so gets the full-width punctuation of its translation), whatever the .po file holds today.
    """

    def add(entries: dict):
        catalogue = trans_real.translation("zh-hans")._catalog
        for msgid, msgstr in entries.items():
            monkeypatch.setitem(catalogue._catalogs[0], msgid, msgstr)

    return add
