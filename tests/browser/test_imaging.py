"""Imaging as people use it (issue 16, "Done means"): Alice uploads a patient's CD folder for Paula
with a progress bar per file, opens a study, scrolls its frames, changes the window, measures a
length; every valid shared sample displays the pixels of a server-side pydicom decode; Charlie
(outside the care team) gets the 404 of a missing study."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from playwright.sync_api import expect

from cordee.imaging import dicom
from cordee.imaging.models import Study
from tests.browser.support import orm, shoot
from tests.browser.test_accessibility import sign_in_as
from tests.imaging.conftest import VALID, palette, shared, variant

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


def _studies() -> dict[str, tuple[int, str]]:
    return {s.study_uid: (s.pk, s.modalities) for s in Study.objects.all()}


def _shown(page) -> dict:
    """The decoded pixels of the frame the viewer shows (Cornerstone's decode, in the browser)."""
    return page.evaluate("() => document.getElementById('viewer').cordeeViewer.pixels()")


LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}  # JPEG baseline and extended


def _compare(shown: dict, data: bytes) -> tuple[float, float]:
    """The largest difference between the browser's decode of frame 1 and pydicom's (server side):
    stored values, or values after the modality LUT when the loader applied it, or RGB."""
    ds = pydicom.dcmread(io.BytesIO(data))
    assert (shown["rows"], shown["columns"]) == (ds.Rows, ds.Columns)
    got = np.array(shown["data"], dtype=np.float64)
    if shown["color"]:
        expected, kind = dicom.frame_values(ds, 0)
        assert kind == "rgb"
        got = got.reshape(ds.Rows, ds.Columns, shown["components"])[..., :3]
    else:
        expected = dicom.frame_array(ds, 0)
        if shown["scaled"]:
            expected = pydicom.pixels.apply_modality_lut(expected, ds)
        got = got.reshape(ds.Rows, ds.Columns)
    difference = np.abs(got - expected.astype(np.float64))
    return float(difference.max()), float(difference.mean())


def _study_uid(n: int) -> str:
    return f"1.2.826.0.1.3680043.8.498.5{n:03d}"


# Made from the shared samples: the colour models the shared data lacks.
MADE = {
    "CT_small MONOCHROME1": lambda study: variant("CT_small.dcm", study=study, PhotometricInterpretation="MONOCHROME1"),
    "chrFren PALETTE COLOR": palette,
}
SAMPLES = [*VALID, *MADE]


def _folder(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A CD's folder: every valid sample as a study of its own (the MR_small variants share their
    UIDs in the shared data: renamed, so that every transfer syntax is stored and shown)."""
    cd = tmp_path / "CD_PAULA"
    (cd / "DICOM").mkdir(parents=True)
    files = {}
    for n, name in enumerate(SAMPLES):
        make = MADE.get(name, lambda study, name=name: variant(name, study=study))
        files[_study_uid(n)] = data = make(_study_uid(n))
        (cd / "DICOM" / f"IM{n:04d}").write_bytes(data)
    (cd / "DICOM" / "BROKEN").write_bytes(shared("MR_truncated.dcm"))
    return cd, files


def test_alice_uploads_a_cd_views_scrolls_windows_measures_charlie_gets_404(
    page, cordee_server, browser_issues, alice, bob, charlie, paula, tmp_path
):
    patient_id = paula.patient.pk
    sign_in_as(page, cordee_server.url, alice)
    page.goto(f"/imagerie/patient/{patient_id}/")
    expect(page.locator("h1")).to_have_text("Imagerie")
    cd, files = _folder(tmp_path)
    page.get_by_label("Un dossier entier (le CD d’un patient)").set_input_files(cd)
    page.get_by_role("button", name="Envoyer").click()
    rows = page.locator("#imaging-progress li")
    expect(rows).to_have_count(len(SAMPLES) + 1)
    expect(page.locator("#imaging-done")).to_be_visible(timeout=60_000)
    bars = page.locator("#imaging-progress progress")
    for n in range(bars.count()):  # every bar went to its end
        assert bars.nth(n).evaluate("b => b.value === b.max")
    expect(page.locator("#imaging-progress li.refused")).to_contain_text("tronqué")
    shoot(page, "imaging-upload-1280")

    studies = orm(_studies)
    emri_id = studies[_study_uid(VALID.index("emri_small.dcm"))][0]

    # The multi-frame MR: scroll, window by drag, measure.
    page.goto(f"/imagerie/etude/{emri_id}/")
    canvas = page.locator("#viewer-canvas")
    browser_issues.assert_clean()  # the viewer's module, its worker and WebAssembly under the page's CSP
    expect(canvas).to_have_attribute("data-ready", "1")
    expect(page.locator("[data-status=position]")).to_have_text("1 / 10")
    shown = "() => document.getElementById('viewer').cordeeViewer.state()"
    start = page.evaluate(shown)  # as the study opens: the file's window, no zoom, no rotation
    viewport = page.locator(".viewport")
    viewport.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("[data-status=position]")).to_have_text("2 / 10")
    box = viewport.bounding_box()
    viewport.hover()
    page.mouse.wheel(0, 120)
    expect(page.locator("[data-status=position]")).to_have_text("3 / 10")
    before = page.locator("[data-status=window]").text_content()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 80, cy + 40, steps=5)
    page.mouse.up()
    assert page.locator("[data-status=window]").text_content() != before
    shoot(page, "imaging-viewer-mr-1280")
    # Invert, rotate, zoom, then reset: the viewport's state follows the buttons and comes back.
    assert page.evaluate(shown)["window"] != start["window"]  # the drag above
    page.get_by_role("button", name="Inverser").click()
    page.get_by_role("button", name="Pivoter").click()
    page.get_by_role("button", name="Agrandir").click()
    changed = page.evaluate(shown)
    assert changed["invert"] is not start["invert"] and changed["rotation"] == (start["rotation"] + 90) % 360
    assert changed["zoom"] > start["zoom"] * 1.2
    page.get_by_role("button", name="Réinitialiser").click()
    back = page.evaluate(shown)
    assert back["invert"] == start["invert"] and back["rotation"] == start["rotation"]
    assert abs(back["zoom"] - start["zoom"]) < 1e-6 and back["window"] == start["window"]
    expect(page.locator("[data-status=position]")).to_have_text("3 / 10")  # reset keeps the frame
    # The metadata panel: the study's attributes, read from WADO-RS metadata.
    page.get_by_text("Métadonnées").click()
    expect(page.locator("[data-metadata]")).to_contain_text("MR")
    # Cine: the ten frames play in a loop at the chosen speed, and stop.
    page.locator("select[data-tool=fps]").select_option("25")
    cine = page.get_by_role("button", name="Ciné")
    cine.click()
    expect(cine).to_have_attribute("aria-pressed", "true")
    seen = set()
    for _ in range(40):
        seen.add(canvas.get_attribute("data-index"))
        page.wait_for_timeout(50)
    assert len(seen) >= 5, seen  # it moved through the frames by itself
    cine.click()
    expect(cine).to_have_attribute("aria-pressed", "false")
    page.wait_for_timeout(300)  # a frame asked for just before the stop may still arrive
    stopped = canvas.get_attribute("data-index")
    page.wait_for_timeout(500)
    assert canvas.get_attribute("data-index") == stopped

    # The CT (pixel spacing known): a length in millimetres, with the lung preset.
    page.goto(f"/imagerie/etude/{studies[_study_uid(VALID.index('CT_small.dcm'))][0]}/")
    expect(canvas).to_have_attribute("data-ready", "1")
    page.locator("select[data-tool=preset]").select_option(label="TDM poumon")
    expect(page.locator("[data-status=window]")).to_have_text("C -600 L 1500")
    page.get_by_role("button", name="Mesurer").click()
    viewport.evaluate("e => e.scrollIntoView({block: 'center'})")  # the whole image in the window
    box = viewport.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 60, cy)
    page.mouse.down()
    page.mouse.move(cx + 60, cy, steps=5)
    page.mouse.up()
    expect(page.locator("[data-status=measure]")).to_contain_text("mm")
    # An angle: three points, the vertex second; a right angle reads 90° (the CT's pixels are square).
    page.get_by_role("button", name="Angle").click()
    # (Away from the length: a click on a drawing's handle moves that drawing.)
    for x, y in ((cx + 60, cy + 100), (cx, cy + 100), (cx, cy + 40)):
        page.mouse.click(x, y)
    expect(page.locator("[data-status=measure]")).to_have_text("90.0°")
    page.mouse.click(cx - 140, cy + 200)  # a click away from the drawings starts a new angle
    expect(page.locator("[data-status=measure]")).to_have_text("")
    for x, y in ((cx - 80, cy + 200), (cx - 140, cy + 140)):
        page.mouse.click(x, y)
    expect(page.locator("[data-status=measure]")).to_have_text("45.0°")
    shoot(page, "imaging-viewer-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(canvas).to_have_attribute("data-ready", "1")
    shoot(page, "imaging-viewer-375")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Every valid sample: the browser's decode of frame 1 (Cornerstone's codecs, from the undecoded
    # frame) is pydicom's on the server — exactly for lossless syntaxes, nearly for lossy JPEG — and
    # something is drawn.
    checked, drawn_means = {}, {}  # the middle of what is drawn, per sample
    for n, name in enumerate(SAMPLES):
        if name == "test-SR.dcm":  # a report: no pixels
            continue
        page.goto(f"/imagerie/etude/{studies[_study_uid(n)][0]}/")
        expect(canvas).to_have_attribute("data-ready", "1")
        data = files[_study_uid(n)]
        largest, mean = _compare(_shown(page), data)
        head = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        # Lossy: two JPEG decoders may round the inverse DCT and the chroma upsampling differently:
        # within 4 levels of an 8-bit scale, and under a quarter level on average.
        lossy = 2 ** (int(head.BitsStored) - 8) if str(head.file_meta.TransferSyntaxUID) in LOSSY else 0
        # A palette's 16-bit entries become 8 bits by their high byte in Cornerstone, scaled in pydicom.
        palette = 1 if head.PhotometricInterpretation == "PALETTE COLOR" else 0
        assert largest <= max(4 * lossy, palette) and mean <= max(lossy / 4, palette), (name, largest, mean)
        drawn = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")).astype(float)
        assert drawn.std() > 1, name  # the canvas is not blank
        middle = drawn[drawn.shape[0] // 3 : 2 * drawn.shape[0] // 3, drawn.shape[1] // 3 : 2 * drawn.shape[1] // 3]
        drawn_means[name] = middle
        if name == "chrFren PALETTE COLOR":
            red_green = np.abs(middle[..., 0] - middle[..., 1]).mean()
        checked[name] = largest
    assert len(checked) == len(SAMPLES) - 1, checked
    # MONOCHROME1 is drawn inverted (the same pixels as CT_small, the file's window, white for low).
    m1, m2 = drawn_means["CT_small MONOCHROME1"], drawn_means["CT_small.dcm"]
    assert np.abs(m1 + m2 - 255).mean() < 3 and np.abs(m1 - m2).mean() > 20, (m1.mean(), m2.mean())
    # The palette is applied: red and green vary across the image, blue is the LUT's half.
    red, green, blue = drawn_means["chrFren PALETTE COLOR"].mean(axis=(0, 1))
    assert abs(blue - 128) < 6 and abs(red + green - 255) < 12 and red_green > 3, (red, green, blue, red_green)
    browser_issues.assert_clean()

    # On a phone (touch, 375 px): one finger scrolls the stack, two pinch to zoom — real touch
    # events through the browser's input (CDP), not mouse events.
    phone = page.context.browser.new_context(
        base_url=cordee_server.url,
        locale="fr-FR",
        has_touch=True,
        is_mobile=True,
        viewport={"width": 375, "height": 740},
    )
    touch = phone.new_page()
    sign_in_as(touch, cordee_server.url, alice)
    touch.goto(f"/imagerie/etude/{emri_id}/")
    expect(touch.locator("#viewer-canvas")).to_have_attribute("data-ready", "1")
    expect(touch.get_by_role("button", name="Défiler")).to_have_attribute("aria-pressed", "true")
    touch.locator(".viewport").scroll_into_view_if_needed()
    box = touch.locator(".viewport").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = phone.new_cdp_session(touch)

    def fingers(kind: str, *points: tuple[float, float]) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]})

    fingers("touchStart", (cx, cy - 80))
    for step in range(1, 9):
        fingers("touchMove", (cx, cy - 80 + step * 20))
    fingers("touchEnd")
    expect(touch.locator("[data-status=position]")).not_to_have_text("1 / 10")
    zoom = touch.evaluate("() => document.getElementById('viewer').cordeeViewer.zoom()")
    fingers("touchStart", (cx - 20, cy), (cx + 20, cy))
    for step in range(1, 9):
        fingers("touchMove", (cx - 20 - step * 10, cy), (cx + 20 + step * 10, cy))
    fingers("touchEnd")
    touch.wait_for_timeout(200)
    assert touch.evaluate("() => document.getElementById('viewer').cordeeViewer.zoom()") > zoom * 1.2
    shoot(touch, "imaging-viewer-phone-375")
    phone.close()

    # Alice shares the MR in Paula's care-team thread; Bob follows the link and sees the images.
    page.goto(f"/imagerie/etude/{emri_id}/")
    page.get_by_role("button", name="Partager", exact=True).click()
    expect(page.get_by_text(f"/imagerie/etude/{emri_id}/").first).to_be_visible()
    bob_context = page.context.browser.new_context(base_url=cordee_server.url, locale="fr-FR")
    bob_page = bob_context.new_page()
    sign_in_as(bob_page, cordee_server.url, bob)
    assert bob_page.goto(f"/imagerie/etude/{emri_id}/").status == 200
    expect(bob_page.locator("#viewer-canvas")).to_have_attribute("data-ready", "1")
    bob_context.close()

    # Charlie, outside Paula's care team: the same 404 as a study that does not exist.
    other = page.context.browser.new_context(base_url=cordee_server.url, locale="fr-FR")
    charlie_page = other.new_page()
    sign_in_as(charlie_page, cordee_server.url, charlie)
    assert charlie_page.goto(f"/imagerie/etude/{emri_id}/").status == 404
    assert charlie_page.goto("/imagerie/etude/987654321/").status == 404
    other.close()
