"""The SPOC page's download buttons offer the files `eqdash export` writes (build_pack_files), and
only analysts can reach them.

AppTest (streamlit 1.67) exposes a download button's label, key and media URL but not its bytes:
those go to the mock runtime's in-memory media storage, which AppTest creates afresh for every
run and drops afterwards. The `offered` fixture swaps in a storage class that remembers its
instances, so a test can read back exactly the bytes a user's click would download.
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from dashboard.exports.pack import FORMATS, build_pack_files

MIME = {"pdf": "application/pdf", "csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _pdf_text(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


@pytest.fixture
def offered(monkeypatch):
    """A function: AppTest download button -> (file name, mime type, bytes) it offers."""
    from streamlit.runtime.media_file_storage import MediaFileStorageError
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    stores: list[MemoryMediaFileStorage] = []

    class Remembering(MemoryMediaFileStorage):
        def __init__(self, media_endpoint: str) -> None:
            super().__init__(media_endpoint)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Remembering)

    def read(button) -> tuple[str, str, bytes]:
        assert button.proto.url, f"{button.label}: no file behind the button"
        name = button.proto.url.rsplit("/", 1)[-1]
        for store in reversed(stores):
            try:
                f = store.get_file(name)
            except MediaFileStorageError:
                continue
            return f.filename, f.mimetype, f.content
        raise AssertionError(f"{button.label}: {button.proto.url} is in no media store")

    return read


@pytest.fixture(scope="module")
def busiest_area(warehouse) -> str:
    """The business area with the most grievances raised or open in the warehouse's last month."""
    return warehouse.query(
        """select business_area_code from fct_spoc_monthly
           where month_start = (select max(month_start) from fct_spoc_monthly)
           order by n_raised + n_open desc, business_area_code limit 1""")["business_area_code"][0]


def spoc_downloads(at, area: str | None):
    """Open the SPOC page, choose the area in the sidebar and every format, prepare the pack."""
    at.switch_page("app_pages/spoc.py")
    at.run()
    if area is not None:
        at.selectbox(key="area").set_value(area).run()
    at.multiselect(key="spoc_formats").set_value(list(FORMATS)).run()
    at.button(key="spoc_prepare").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.parametrize("area", [None, "busiest"])
def test_spoc_page_offers_the_export_files_byte_for_byte(area, app_env, warehouse, busiest_area, offered):
    area = busiest_area if area == "busiest" else None
    at = spoc_downloads(app_env("analyst"), area)
    month = at.selectbox(key="spoc_month").value
    pack_area = area or "FORCE"
    expected = build_pack_files(warehouse, month, pack_area, list(FORMATS))

    buttons = {b.key.removeprefix("dl-"): b for b in at.download_button}
    assert sorted(buttons) == sorted(expected), "the page offers other files than `eqdash export` writes"
    stem = f"{pack_area}-{month:%Y-%m}"
    assert {f"{stem}.pdf", f"{stem}.xlsx", "csv/pack_info.csv"} <= set(buttons)
    assert sum(name.endswith(".csv") for name in buttons) >= 5
    for name, want in expected.items():
        file_name, mime, got = offered(buttons[name])
        assert file_name == name.replace("/", "-"), name
        assert mime == MIME[name.rsplit(".", 1)[-1]], name
        assert buttons[name].label == f"Download {name}"
        if name.endswith(".pdf"):
            # PDFs carry a creation time and font subsets: the same text, page for page.
            assert got[:5] == b"%PDF-"
            assert _pdf_text(got) == _pdf_text(want), name
        else:
            assert got == want, f"{name}: the page's bytes differ from build_pack_files'"


def test_downloads_appear_only_after_prepare_and_follow_the_chosen_formats(app_env, offered):
    at = app_env("analyst")
    at.run()
    at.switch_page("app_pages/spoc.py")
    at.run()
    assert not at.download_button, "files are built only when asked for"
    at.multiselect(key="spoc_formats").set_value(["xlsx"]).run()
    at.button(key="spoc_prepare").click().run()
    names = [b.key.removeprefix("dl-") for b in at.download_button]
    assert len(names) == 1 and names[0].endswith(".xlsx")
    assert offered(at.download_button[0])[2][:2] == b"PK"  # a zip container, not an error text
    # Another month is another pack: the old buttons go until it is prepared.
    months = at.selectbox(key="spoc_month").options
    at.selectbox(key="spoc_month").select_index(1).run()
    assert len(months) > 1 and not at.download_button


@pytest.mark.parametrize("role", ["staff_association", "board"])
def test_only_analysts_reach_the_spoc_page_and_its_files(role, app_env):
    at = app_env(role)
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/spoc.py")
    assert not at.download_button


def _pack_as(role: str, month) -> None:
    import streamlit as st

    from dashboard import data

    data.set_role(role)
    try:
        files = data.spoc_pack(month, "FORCE", ("csv",))
    except PermissionError as e:
        st.error(str(e))
    else:
        st.success(f"{len(files or {})} files")


@pytest.mark.parametrize("role", ["staff_association", "board"])
def test_the_pack_helper_refuses_other_roles(role, small_warehouse, default_filters, monkeypatch):
    """Even called directly (not through the menu), data.spoc_pack builds nothing for them."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EQDASH_DB", str(small_warehouse))
    at = AppTest.from_function(_pack_as, args=(role, default_filters.end), default_timeout=180).run()
    assert [e.value for e in at.error] == ["only analysts export SPOC packs"]
    ok = AppTest.from_function(_pack_as, args=("analyst", default_filters.end), default_timeout=180).run()
    assert not ok.error and ok.success[0].value.endswith(" files") and ok.success[0].value != "0 files"
