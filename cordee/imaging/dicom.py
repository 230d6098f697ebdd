"""Reading DICOM files: validation of what arrives, decoding of frames, rendering.

No Django here: what a file is and what its pixels are (pydicom, pylibjpeg's decoders).

- ``parse(data)``: the dataset of one Part 10 file, or ``DicomRefused`` with a stable code: not
  DICOM, no transfer syntax in the File Meta, truncated, an invalid value, no SOP/Study/Series UID.
- ``can_decode(ts)``: whether Cordée decodes that transfer syntax (the others are stored, flagged
  "no preview").
- ``frame_values(ds, n)``: one frame as numbers to window (modality LUT applied), or RGB.
- ``render_png(ds, n, center, width)``: the frame as an 8-bit PNG (thumbnails, ``rendered``).
- ``raw_frame(ds, n)``: the frame's bytes as WADO-RS ``frames/{n}`` sends them, with their
  transfer syntax: a compressed frame as stored, a native frame little endian.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.pixels import apply_modality_lut, pixel_array
from pydicom.uid import UID

# Decoded by pydicom itself or by the pylibjpeg plugins installed with Cordée.
DECODABLE = frozenset(
    {
        "1.2.840.10008.1.2",  # Implicit VR Little Endian
        "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
        "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
        "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired)
        "1.2.840.10008.1.2.4.50",  # JPEG Baseline (Process 1)
        "1.2.840.10008.1.2.4.51",  # JPEG Extended (Process 2 & 4)
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless (Process 14)
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
        "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
        "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
        "1.2.840.10008.1.2.4.91",  # JPEG 2000
        "1.2.840.10008.1.2.5",  # RLE Lossless
    }
)
NATIVE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"})
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory: the index of a CD, not an image


class DicomRefused(Exception):
    """A file Cordée does not store; ``code`` is stable (tests, API), ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Parsed:
    dataset: Dataset
    transfer_syntax: str
    decodable: bool


def _short_element(dataset: Dataset) -> bool:
    """Whether an element's value stops before its announced length (a file cut short)."""
    for raw in dataset._dict.values():
        if isinstance(raw, RawDataElement) and raw.length != 0xFFFFFFFF and raw.value is not None:
            if len(raw.value) != raw.length:
                return True
    return False


def _native_pixels_short(dataset: Dataset) -> bool:
    """Uncompressed pixel data shorter than rows × columns × samples × bits × frames says."""
    try:
        rows, columns = int(dataset.Rows), int(dataset.Columns)
        samples = int(dataset.get("SamplesPerPixel", 1) or 1)
        bits = int(dataset.BitsAllocated)
        frames = max(1, int(dataset.get("NumberOfFrames", 1) or 1))
    except (AttributeError, TypeError, ValueError):
        return True
    expected = (rows * columns * samples * frames * bits + 7) // 8
    return len(dataset.PixelData) < expected


def _check_values(dataset: Dataset) -> None:
    """Every element converted from its bytes: a value its VR cannot hold (a US of 3 bytes, a
    number that is not one) is refused. Style warnings (a UID component with a leading zero, as
    real devices write) are not: pydicom's validation stays in its default, warning mode."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for element in dataset.iterall():
            if element.VR in ("SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN"):
                continue
            element.value  # noqa: B018  # converts the raw value


def parse(data: bytes) -> Parsed:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError:
        raise DicomRefused("not_dicom", "This file is not a DICOM file (no DICM prefix or File Meta).") from None
    except (EOFError, OSError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise DicomRefused("unreadable", f"This DICOM file cannot be read ({type(exc).__name__}).") from None
    transfer_syntax = str(getattr(dataset, "file_meta", Dataset()).get("TransferSyntaxUID", "") or "")
    if not transfer_syntax:
        raise DicomRefused("no_transfer_syntax", "The File Meta of this DICOM file gives no transfer syntax.")
    if _short_element(dataset):
        raise DicomRefused("truncated", "This DICOM file is truncated: a value stops before its announced length.")
    try:
        _check_values(dataset)
    except (ValueError, TypeError, KeyError, OverflowError, LookupError, BytesLengthException) as exc:
        raise DicomRefused("invalid_value", f"This DICOM file holds an invalid value ({str(exc)[:120]}).") from None
    for keyword in ("SOPInstanceUID", "SOPClassUID"):
        if not str(dataset.get(keyword, "") or "").strip():
            raise DicomRefused("no_uid", f"This DICOM file has no {keyword}.")
    if str(dataset.SOPClassUID) != DICOMDIR_CLASS:
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID"):
            if not str(dataset.get(keyword, "") or "").strip():
                raise DicomRefused("no_uid", f"This DICOM file has no {keyword}.")
        if "Rows" in dataset and "PixelData" not in dataset and "FloatPixelData" not in dataset:
            raise DicomRefused("truncated", "This DICOM image has no pixel data (a file cut short?).")
        if "PixelData" in dataset and transfer_syntax in NATIVE and _native_pixels_short(dataset):
            raise DicomRefused("truncated", "This DICOM image has fewer pixel bytes than its size says.")
    return Parsed(dataset, transfer_syntax, transfer_syntax in DECODABLE)


def is_dicomdir(parsed: Parsed) -> bool:
    return str(parsed.dataset.SOPClassUID) == DICOMDIR_CLASS


def dicom_date(value: Any) -> dt.date | None:
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()  # noqa: DTZ007  # a calendar date, no time
    except ValueError:
        return None


def text(dataset: Dataset, keyword: str, limit: int = 200) -> str:
    value = dataset.get(keyword, "")
    return str(value or "").strip()[:limit]


def number_of_frames(dataset: Dataset) -> int:
    if "PixelData" not in dataset:
        return 0
    try:
        return max(1, int(dataset.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


# --- pixels ---------------------------------------------------------------------------------


class FrameError(Exception):
    pass


def frame_array(dataset: Dataset, index: int) -> np.ndarray:
    """The frame ``index`` (0-based) as pydicom decodes it (colour converted to RGB); only that
    frame is decoded (a 120-frame JPEG does not decode 120 frames to show one)."""
    frames = number_of_frames(dataset)
    if not 0 <= index < frames:
        raise FrameError("no such frame")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pixel_array(dataset, index=index if frames > 1 else None)
    except Exception as exc:  # any decoder failure: the frame is not shown, never a server error
        raise FrameError(f"cannot decode ({type(exc).__name__})") from None


EXPLICIT_LITTLE = "1.2.840.10008.1.2.1"
# Sent decoded: Cornerstone3D 5.14 decodes JPEG Extended with a JavaScript decoder whose values are
# off by ~15 levels on the shared 12-bit sample where pylibjpeg and dcmtk agree within 1
# (docs/decisions/0018-…); a grey frame of these syntaxes goes out as its pylibjpeg decode.
DECODED_FOR_THE_VIEWER = frozenset({"1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55"})


def raw_frame(dataset: Dataset, index: int) -> tuple[bytes, str]:
    """The frame ``index`` (0-based) undecoded, for a viewer that decodes (PS3.18 RetrieveFrames):
    a compressed frame as stored, with the file's transfer syntax; a native frame as its little-endian
    bytes (implicit, explicit, deflated once inflated, big endian swapped) in Explicit VR Little
    Endian; a grey JPEG Extended frame decoded (``DECODED_FOR_THE_VIEWER``)."""
    frames = number_of_frames(dataset)
    if not 0 <= index < frames:
        raise FrameError("no such frame")
    syntax = UID(str(dataset.file_meta.get("TransferSyntaxUID", "")))
    if syntax in DECODED_FOR_THE_VIEWER and int(dataset.get("SamplesPerPixel", 1) or 1) == 1:
        array = frame_array(dataset, index)
        return array.astype(array.dtype.newbyteorder("<")).tobytes(), EXPLICIT_LITTLE
    data = dataset.PixelData
    if syntax.is_encapsulated:
        from pydicom.encaps import get_frame  # why here: the one caller that reads fragments

        try:
            return bytes(get_frame(data, index, number_of_frames=frames)), str(syntax)
        except Exception as exc:  # a broken offset table or fragments: not shown, never a server error
            raise FrameError(f"cannot read the frame ({type(exc).__name__})") from None
    bits = int(dataset.get("BitsAllocated", 0) or 0)
    if bits not in (8, 16, 32, 64):  # 1-bit frames are packed across frame boundaries
        raise FrameError("unsupported bits allocated")
    size = int(dataset.Rows) * int(dataset.Columns) * int(dataset.get("SamplesPerPixel", 1) or 1) * bits // 8
    frame = bytes(data[index * size : (index + 1) * size])
    if len(frame) != size:
        raise FrameError("pixel data shorter than its frames")
    if not syntax.is_little_endian and bits > 8:
        frame = np.frombuffer(frame, dtype=f">u{bits // 8}").astype(f"<u{bits // 8}").tobytes()
    return frame, EXPLICIT_LITTLE


def frame_values(dataset: Dataset, index: int) -> tuple[np.ndarray, str]:
    """The frame as a viewer needs it: ("mono", float32 values after the modality LUT, MONOCHROME1
    noted by the caller from the photometric interpretation) or ("rgb", uint8 H×W×3)."""
    array = frame_array(dataset, index)
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        return np.ascontiguousarray(_to_uint8(apply_color_lut(array, dataset))), "rgb"
    if array.ndim == 3 and array.shape[-1] == 3:
        return np.ascontiguousarray(_to_uint8(array)), "rgb"
    values = (
        apply_modality_lut(array, dataset) if "RescaleSlope" in dataset or "ModalityLUTSequence" in dataset else array
    )
    return np.ascontiguousarray(values.astype("<f4")), "mono"


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    top = float(array.max()) or 1.0
    return (array.astype(np.float32) * (255.0 / top)).clip(0, 255).astype(np.uint8)


def pixel_spacing(dataset: Dataset) -> list[float]:
    """Row and column spacing in mm: the top level, else an enhanced object's shared functional groups."""
    spacing = dataset.get("PixelSpacing") or dataset.get("ImagerPixelSpacing")
    if not spacing:
        for group in dataset.get("SharedFunctionalGroupsSequence") or []:
            for measures in group.get("PixelMeasuresSequence") or []:
                spacing = measures.get("PixelSpacing")
    try:
        return [float(v) for v in list(spacing or [])[:2]]
    except (TypeError, ValueError):
        return []


def default_window(dataset: Dataset, values: np.ndarray) -> tuple[float, float]:
    """(center, width): the file's first VOI window, else the frame's range."""
    center, width = dataset.get("WindowCenter"), dataset.get("WindowWidth")
    try:
        if center is not None and width is not None:
            c = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
            w = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
            if w > 0:
                return c, w
    except (TypeError, ValueError):
        pass
    low, high = float(values.min()), float(values.max())
    return (low + high) / 2, max(high - low, 1.0)


def windowed(values: np.ndarray, center: float, width: float, *, invert: bool = False) -> np.ndarray:
    """DICOM's linear VOI function (PS3.3 C.11.2.1.2) to 0–255."""
    low = center - 0.5 - (width - 1) / 2
    scaled = ((values - (center - 0.5)) / max(width - 1, 1) + 0.5) * 255.0
    out = np.where(values <= low, 0.0, np.where(values > center - 0.5 + (width - 1) / 2, 255.0, scaled))
    out = out.clip(0, 255).astype(np.uint8)
    return 255 - out if invert else out


def render_png(
    dataset: Dataset, index: int, *, center: float | None = None, width: float | None = None, size: int = 0
) -> bytes:
    values, kind = frame_values(dataset, index)
    if kind == "rgb":
        image = Image.fromarray(values, "RGB")
    else:
        if center is None or width is None:
            center, width = default_window(dataset, values)
        monochrome1 = str(dataset.get("PhotometricInterpretation", "")) == "MONOCHROME1"
        image = Image.fromarray(windowed(values, center, width, invert=monochrome1), "L")
    if size:
        image.thumbnail((size, size))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=1)
    return out.getvalue()


def uid(value: Any) -> str:
    return str(UID(str(value))) if value else ""
