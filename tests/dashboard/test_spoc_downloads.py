"""The SPOC page's zip buttons hold the files `eqdash export` writes (build_pack_files), its preview
shows the pack's own cells, and only analysts can reach it.

AppTest (streamlit 1.67) exposes a download button's label, key and media URL but not its bytes:
those go to the mock runtime's in-memory media storage, which AppTest creates afresh for every
run and drops afterwards. The `offered` fixture swaps in a storage class that remembers its
instances, so a test can read back exactly the bytes a user's click would download.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader

from dashboard.exports.format import sheets, text
from dashboard.exports.pack import ZIP_FORMATS, build_pack_files
from metrics.spoc import assemble_pack


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


def _same_files(got: dict[str, bytes], want: dict[str, bytes]) -> None:
    assert sorted(got) == sorted(want)
    for name, data in want.items():
        if name.endswith(".pdf"):  # a PDF carries its creation time: the same text, page for page
            assert _pdf_text(got[name]) == _pdf_text(data), name
        else:
            assert got[name] == data, name


def test_the_area_zip_holds_the_export_files_and_the_preview_shows_the_pack(app_env, warehouse, busiest_area,
                                                                             offered):
    at = app_env("analyst")
    at.run()
    at.switch_page("app_pages/spoc.py")
    at.run()
    at.selectbox(key="area").set_value(busiest_area).run()
    assert not at.download_button, "files are built only when asked for"
    at.button(key="spoc_prepare").click().run(timeout=180)
    assert not at.exception, [e.message for e in at.exception]
    month = at.selectbox(key="spoc_month").value
    button = next(b for b in at.download_button if b.key == "dl-pack")
    assert button.label == "Download the pack (zip)"
    name, mime, data = offered(button)
    assert (name, mime) == (f"spoc-pack-{busiest_area}-{month:%Y-%m}.zip", "application/zip")
    z = zipfile.ZipFile(io.BytesIO(data))
    got = {n: z.read(n) for n in z.namelist()}
    expected = build_pack_files(warehouse, month, busiest_area, ZIP_FORMATS)
    assert {f"{busiest_area}-{month:%Y-%m}.{e}" for e in ("pdf", "xlsx", "ods")} <= set(expected)
    _same_files(got, expected)
    # The preview: every table of the pack, cell for cell as printed (hidden counts as <5, never exact).
    pack = assemble_pack(warehouse, month, busiest_area)
    shown = [d.value for d in at.dataframe]
    for sheet in sheets(pack)[1:]:
        labels = [c.label for c in sheet.columns]
        want = [[text(v, c.kind) for c, v in zip(sheet.columns, row, strict=True)] for row in sheet.rows]
        same = [f.astype(str).values.tolist() for f in shown if list(f.columns) == labels]
        assert want in same, f"{sheet.name}: the preview differs from the pack"
    page_text = " ".join(str(m.value) for m in at.markdown)
    for finding in pack.findings:
        assert finding.statement[:60] in page_text


def test_the_all_areas_zip_has_a_folder_per_area_and_the_force(app_env, warehouse, offered):
    at = app_env("analyst")
    at.run()
    at.switch_page("app_pages/spoc.py")
    at.run()
    at.button(key="spoc_prepare_all").click().run(timeout=600)
    assert not at.exception, [e.message for e in at.exception]
    month = at.selectbox(key="spoc_month").value
    button = next(b for b in at.download_button if b.key == "dl-all")
    name, mime, data = offered(button)
    assert name == f"spoc-pack-all-areas-{month:%Y-%m}.zip"
    folders = {n.split("/", 1)[0] for n in zipfile.ZipFile(io.BytesIO(data)).namelist()}
    areas = warehouse.query("select business_area_code from stg_business_areas")["business_area_code"].to_list()
    assert folders == {*areas, "FORCE"}
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.read(f"FORCE/FORCE-{month:%Y-%m}.xlsx") == build_pack_files(warehouse, month, "FORCE", ["xlsx"])[
        f"FORCE-{month:%Y-%m}.xlsx"]
